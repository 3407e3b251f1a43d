//go:build !linux

package worker

import "os"

func workerCPU(n int) int { return -1 }

func pinThread(cpu int) func() { return func() {} }

func growPipe(f *os.File) {}
