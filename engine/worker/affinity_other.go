//go:build !linux

package worker

func workerCPU(n int) int { return -1 }

func pinThread(cpu int) func() { return func() {} }
