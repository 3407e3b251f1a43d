package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/rulebench/rulebench/engine"
	"github.com/rulebench/rulebench/engine/repo"
	"github.com/rulebench/rulebench/ui/replay"
	"github.com/rulebench/rulebench/ui/result"
)

// replayBusy refuses work while a replay holds every worker.
const replayBusy = "a replay is using every worker: wait for it, or esc cancels it"

// busyRefusal says why a run cannot start now, if it cannot.
func (m *Model) busyRefusal() bool {
	switch {
	case m.replaying != nil:
		m.say(replayBusy, true)
		return true
	case m.running != nil:
		m.say("a run is in progress (esc cancels it)", true)
		return true
	}
	return false
}

// replayFiles are the event files a replay reads: the --events files,
// else the bundled samples.
func (m *Model) replayFiles() []string {
	if len(m.cfg.UserEvents) > 0 {
		return m.cfg.UserEvents
	}
	return m.cfg.SampleEvents
}

// startReplay streams the event files through every enabled rule, or
// (selected) through the selected detection only, routed as its events
// pane routes them (a: every event).
func (m *Model) startReplay(selected bool) tea.Cmd {
	switch {
	case m.replaying != nil:
		m.say("a replay is in progress (esc cancels it)", true)
		return nil
	case m.running != nil:
		m.say("a run is in progress: wait for it or esc cancels it, then replay", true)
		return nil
	case m.testing != nil:
		m.say("tests are running: wait for them or esc cancels them, then replay", true)
		return nil
	}
	files := m.replayFiles()
	if len(files) == 0 {
		m.say("no event files to replay: give some with --events FILE", true)
		return nil
	}
	scope := replay.Scope{Files: files}
	allEvents := false
	if selected {
		d := m.rules.Selected()
		if d == nil {
			m.say("select a rule to replay the event files through it (P replays every enabled rule)", true)
			return nil
		}
		scope.Detections = []*repo.Detection{d}
		scope.Label = d.ID
		allEvents = m.events.RouteAll()
		if allEvents {
			scope.Label += " (every event)"
		}
	} else {
		scope.Detections = m.repo.Select(repo.Filter{SkipDisabled: true, Kinds: []repo.Kind{repo.KindRule}})
		if len(scope.Detections) == 0 {
			m.say("no enabled rule to replay the events through", true)
			return nil
		}
		scope.Label = fmt.Sprintf("%d enabled rules", len(scope.Detections))
	}
	m.runSeq++
	ctx, cancel := context.WithCancel(m.ctx)
	m.replaying = &activeReplay{seq: m.runSeq, cancel: cancel}
	if mode, _, _, ok := m.h.network(); ok {
		m.replay.SetNetworkMode(mode)
	}
	m.replay.Start(m.runSeq, scope)
	m.showReplay()
	m.say(fmt.Sprintf("replaying %s through %s… (esc cancels)", filesLabel(files), scope.Label), false)
	job := replayJob{
		seq: m.runSeq, h: m.h, dets: scope.Detections, allEvents: allEvents, files: files,
		store: m.cfg.Store, clock: m.cfg.Engine.Clock,
	}
	return tea.Batch(job.start(ctx, m.ctx), m.syncReplay())
}

func filesLabel(files []string) string {
	if len(files) == 1 {
		return "1 event file"
	}
	return fmt.Sprintf("%d event files", len(files))
}

// showReplay switches to the replay view, the alerts focused.
func (m *Model) showReplay() {
	m.screen = screenReplay
	m.zoom = false
	m.setFocus(paneReplayList)
}

// syncReplay shows the selected alert's rule beside it, the line its
// error points at marked.
func (m *Model) syncReplay() tea.Cmd {
	a, ok := m.replay.Selected()
	if !ok {
		return nil
	}
	var cmd tea.Cmd
	if m.rsource.Detection() != a.Detection {
		cmd = m.rsource.SetDetection(a.Detection)
	}
	m.rsource.SetErrorLine(m.replay.ErrorLine())
	return cmd
}

func (m *Model) replayDone(msg replay.DoneMsg) tea.Cmd {
	var cmd tea.Cmd
	m.replay, cmd = m.replay.Update(msg)
	if m.replaying == nil || msg.Seq != m.replaying.seq {
		return cmd
	}
	m.replaying.cancel()
	m.replaying = nil
	evs, matches, errs, delivered := m.replay.Counts()
	switch {
	case errors.Is(msg.Err, context.Canceled):
		m.say(fmt.Sprintf("replay cancelled after %s: %s, %s so far", counted(evs, "event"), counted(matches, "match"),
			counted(int64(delivered), "alert")), true)
	case msg.Err != nil:
		m.say("replay failed: "+msg.Err.Error(), true)
	default:
		text := fmt.Sprintf("replayed %s: %s, %s, %s", counted(evs, "event"), counted(matches, "match"),
			counted(int64(delivered), "alert"), counted(errs, "rule error"))
		if bad := m.replay.BadInput(); bad > 0 {
			text += ", " + counted(int64(bad), "bad input line")
		}
		m.say(text+" in "+result.FormatDuration(msg.Elapsed), errs > 0)
	}
	// The replay wrote to the shared cache.
	return tea.Batch(cmd, m.cache.Refresh(), m.syncReplay())
}

// openAlert shows an alert's rule and first event on the bench.
func (m *Model) openAlert(req replay.OpenRequest) tea.Cmd {
	if req.Detection == nil {
		return nil
	}
	if m.repo.Detection(req.Detection.ID) == nil {
		m.say(req.Detection.ID+" is no longer in the repository", true)
		return nil
	}
	m.screen = screenBench
	m.zoom = false
	m.setFocus(paneEvents)
	m.rules.Select(req.Detection.ID)
	cmd := m.syncSelection()
	if req.File != "" && !m.events.SelectKey(fmt.Sprintf("file:%s:%d", req.File, req.Line)) {
		m.say(fmt.Sprintf("%s:%d is not listed for %s (a lists every event)", req.File, req.Line, req.Detection.ID), true)
	}
	m.right = paneResult
	return tea.Batch(cmd, m.syncSelection())
}

// counted is n and the word, pluralised.
func counted(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	if strings.HasSuffix(word, "ch") {
		word += "e"
	}
	return engine.Count(float64(n)) + " " + word + "s"
}
