// Package ui is rulebench's workbench: a Bubble Tea program composed of one
// component per pane (rules, events, result, source, cache, triage). The
// root model here routes messages, owns the layout and starts engine work
// in commands; components only ever see the results as messages.
package ui

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/rulebench/rulebench/cache"
	"github.com/rulebench/rulebench/engine"
	"github.com/rulebench/rulebench/engine/repo"
	"github.com/rulebench/rulebench/mocks"
	"github.com/rulebench/rulebench/ui/cacheview"
	"github.com/rulebench/rulebench/ui/eventlist"
	"github.com/rulebench/rulebench/ui/replay"
	"github.com/rulebench/rulebench/ui/result"
	"github.com/rulebench/rulebench/ui/rules"
	"github.com/rulebench/rulebench/ui/source"
	"github.com/rulebench/rulebench/ui/theme"
	"github.com/rulebench/rulebench/ui/triage"
	"github.com/rulebench/rulebench/ui/watch"
)

// FPS is the frame rate to run the program at: Bubble Tea's highest. A
// result waits for the next frame to reach the screen, and at the default
// 60 that wait (up to 17 ms) is most of the time from enter to result.
const FPS = 120

// Config is what the workbench runs on; the command line builds it from
// its flags.
type Config struct {
	// Context ends the workbench's background work when cancelled.
	Context context.Context
	Repo    *repo.Repository
	// Label names the repository in the header.
	Label string
	// Load reads the repository again, after its files changed.
	Load   func() (*repo.Repository, error)
	Engine engine.Options
	// Store is the shared cache events run against; Cache describes it
	// for the inspector (its Clock must be Engine.Clock).
	Store cache.Store
	Cache cacheview.Source
	// SampleEvents and UserEvents are event files (the bundled samples,
	// --events).
	SampleEvents []string
	UserEvents   []string
	// Watch reloads the repository when its files change.
	Watch bool
	// Editor is the command that edits a file (nil: $VISUAL, $EDITOR, vi).
	Editor []string
	// Styles default to the terminal's (theme.Default()).
	Styles *theme.Styles
}

type screen int

const (
	screenBench screen = iota
	screenTriage
	screenReplay
)

type paneID int

const (
	paneRules paneID = iota
	paneEvents
	paneResult
	paneSource
	paneCache
	paneTriageList
	paneTriageDetail
	paneTriageSource
	paneReplayProgress
	paneReplayList
	paneReplayDetail
	paneReplaySource
	paneReplayProfile
)

var (
	benchPanes  = []paneID{paneRules, paneEvents, paneResult, paneSource, paneCache}
	triagePanes = []paneID{paneTriageList, paneTriageDetail, paneTriageSource}
	// The progress pane takes no keys: tab skips it.
	replayPanes = []paneID{paneReplayList, paneReplayDetail, paneReplaySource, paneReplayProfile}
)

// activeRun is the run in flight.
type activeRun struct {
	seq     int
	det     *repo.Detection
	label   string
	cancel  context.CancelFunc
	started time.Time
	steps   []cacheview.Step
	fresh   *mocks.Cache
	alerts  int
	errors  int
	passed  int
	failed  int
	count   int
}

// activeReplay is the replay in flight: it holds every worker.
type activeReplay struct {
	seq    int
	cancel context.CancelFunc
}

type activeTests struct {
	seq    int
	cancel context.CancelFunc
	// what names a re-run ("test dedup raises"); "" for all tests.
	what string
	det  *repo.Detection
	test string
}

// Model is the workbench.
type Model struct {
	cfg    Config
	ctx    context.Context
	cancel context.CancelFunc
	st     theme.Styles
	keys   KeyMap
	help   help.Model
	spin   spinner.Model

	repo    *repo.Repository
	h       *engineHandle
	watcher *watch.Watcher
	editor  []string

	rules   rules.Model
	events  eventlist.Model
	result  result.Model
	source  source.Model
	cache   cacheview.Model
	triage  triage.Model
	tsource source.Model
	replay  replay.Model
	rsource source.Model

	screen      screen
	focus       paneID
	right       paneID // the right-hand pane when result, source and cache share it
	rightWide   paneID // source or cache, when they share the wide layout's right column
	triageRight paneID
	// replayRight is the pane the narrow layout shows beside the alerts;
	// replayRightWide the one sharing the wide, short layout's last column.
	replayRight     paneID
	replayRightWide paneID
	zoom            bool

	width, height int
	lay           layout

	shownDet, shownItem string
	runs                map[string]*result.Run
	fresh               map[*result.Run]*mocks.Cache
	tests               map[string]map[string]bool
	broken              map[string]bool
	runSeq              int
	reloadSeq           int
	running             *activeRun
	testing             *activeTests
	replaying           *activeReplay

	status    string
	statusErr bool
	initCmds  []tea.Cmd
}

// New builds the workbench from a loaded repository. Nothing slow happens
// here: Python boots, events load and files are highlighted in Init's
// commands, after the first frame.
func New(cfg Config) Model {
	if cfg.Context == nil {
		cfg.Context = context.Background()
	}
	st := theme.Default()
	if cfg.Styles != nil {
		st = *cfg.Styles
	}
	ctx, cancel := context.WithCancel(cfg.Context)
	m := Model{
		cfg: cfg, ctx: ctx, cancel: cancel, st: st, keys: DefaultKeyMap(),
		repo: cfg.Repo, h: newEngineHandle(), editor: cfg.Editor,
		rules: rules.New(st, cfg.Repo), events: eventlist.New(st), result: result.New(st),
		source: source.New(st), cache: cacheview.New(st, cfg.Cache), triage: triage.New(st), tsource: source.New(st),
		replay: replay.New(st), rsource: source.New(st),
		focus: paneRules, right: paneResult, rightWide: paneSource, triageRight: paneTriageDetail,
		replayRight: paneReplayDetail, replayRightWide: paneReplaySource,
		runs: map[string]*result.Run{}, fresh: map[*result.Run]*mocks.Cache{},
		tests: map[string]map[string]bool{}, broken: map[string]bool{},
	}
	if len(m.editor) == 0 {
		m.editor = eventlist.Editor()
	}
	m.help = help.New()
	m.help.Styles = st.Help
	m.spin = spinner.New(spinner.WithSpinner(spinner.MiniDot), spinner.WithStyle(st.Accent))
	m.source.SetRoot(cfg.Repo.Root)
	m.tsource.SetRoot(cfg.Repo.Root)
	m.rsource.SetRoot(cfg.Repo.Root)
	m.replay.SetRoot(cfg.Repo.Root)
	m.rules.SetFocused(true)
	m.result.SetRoot(cfg.Repo.Root)
	m.triage.SetRoot(cfg.Repo.Root)
	// Commands that change the model (a listing's generation) are made
	// here: Init has a copy of the model.
	m.initCmds = append(m.initCmds, m.syncSelection(), m.cache.Refresh())
	return m
}

// Init starts the background work: Python, events, the cache listing and
// the file watcher.
func (m Model) Init() tea.Cmd {
	cmds := append([]tea.Cmd{
		bootEngine(m.ctx, m.h, m.cfg.Engine, m.repo),
		loadEvents(m.cfg.SampleEvents, m.cfg.UserEvents),
	}, m.initCmds...)
	if m.cfg.Watch {
		cmds = append(cmds, startWatch(m.repo.Root, m.cfg.UserEvents))
	}
	return tea.Batch(cmds...)
}

// Close stops what the workbench started (workers, watcher). The program
// calls it on quit; call it too when the program ends otherwise.
func (m Model) Close() {
	m.cancel()
	m.h.retire()
	if m.watcher != nil {
		m.watcher.Close()
	}
}

// Update routes a message.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmd := m.update(msg)
	m.resize()
	return m, cmd
}

func (m *Model) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		return nil
	case tea.KeyMsg:
		return m.key(msg)
	case streamMsg:
		return tea.Batch(m.update(msg.msg), listen(msg.ch))
	case spinner.TickMsg:
		if m.running == nil && m.testing == nil {
			return nil
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		m.showBusy()
		return cmd
	case engineReadyMsg:
		if msg.h != m.h {
			return nil
		}
		if msg.err != nil {
			m.say("cannot start Python: "+msg.err.Error(), true)
			return nil
		}
		mode, status, err, _ := m.h.network()
		m.replay.SetNetworkMode(mode)
		switch {
		case err != nil:
			m.say("fixtures: "+err.Error()+" (offline calls will fail)", true)
		case m.status == "":
			m.say("network "+status, false)
		}
		return nil
	case eventsLoadedMsg:
		m.events.SetEvents(msg.samples, msg.user)
		if len(msg.problems) > 0 {
			m.say(fmt.Sprintf("events: %s", msg.problems[0])+more(len(msg.problems)-1), true)
		}
		return m.syncSelection()
	case runStepMsg:
		return m.runStep(msg)
	case runDoneMsg:
		return m.runDone(msg)
	case testsReportMsg:
		return m.testsReport(msg)
	case testsDoneMsg:
		return m.testsDone(msg)
	case watchStartedMsg:
		if msg.err != nil {
			m.say("watch: "+msg.err.Error(), true)
			return nil
		}
		m.watcher = msg.w
		return msg.w.Next()
	case watch.ChangedMsg:
		m.reloadSeq++
		m.say(fmt.Sprintf("reloading: %s changed", m.names(msg.Paths)), false)
		next := tea.Cmd(nil)
		if m.watcher != nil {
			next = m.watcher.Next()
		}
		return tea.Batch(m.reloadCmd(msg.Paths), next)
	case reloadedMsg:
		return m.reloaded(msg)
	case ruleEditedMsg:
		if msg.err != nil {
			m.say("editor: "+msg.err.Error(), true)
		}
		if m.watcher == nil {
			m.reloadSeq++
			return m.reloadCmd(nil)
		}
		return nil
	case eventlist.EditedMsg:
		var cmd tea.Cmd
		m.events, cmd = m.events.Update(msg)
		return tea.Batch(cmd, m.syncSelection())
	case eventlist.RunRequest:
		return m.runSelected()
	case eventlist.Notice:
		m.say(msg.Text, msg.Err)
		return nil
	case cacheview.Notice:
		m.say(msg.Text, false)
		return nil
	case cacheview.ActionMsg:
		m.say(msg.Text, msg.Err != nil)
		var cmd tea.Cmd
		m.cache, cmd = m.cache.Update(msg)
		return cmd
	case cacheview.ItemsMsg:
		var cmd tea.Cmd
		m.cache, cmd = m.cache.Update(msg)
		return cmd
	case source.LoadedMsg:
		var c1, c2, c3 tea.Cmd
		m.source, c1 = m.source.Update(msg)
		m.tsource, c2 = m.tsource.Update(msg)
		m.rsource, c3 = m.rsource.Update(msg)
		return tea.Batch(c1, c2, c3)
	case replay.BatchMsg:
		var cmd tea.Cmd
		m.replay, cmd = m.replay.Update(msg)
		return tea.Batch(cmd, m.syncReplay())
	case replay.DoneMsg:
		return m.replayDone(msg)
	case replay.OpenRequest:
		return m.openAlert(msg)
	case triage.RerunRequest:
		return m.startTests([]*repo.Detection{msg.Detection}, msg.TestName, true)
	case triage.OpenRequest:
		m.screen = screenBench
		m.zoom = false
		m.setFocus(paneEvents)
		m.rules.Select(msg.Detection.ID)
		cmd := m.syncSelection()
		if msg.TestName != "" {
			m.events.SelectKey("test:" + msg.TestName)
		}
		m.right = paneResult
		return tea.Batch(cmd, m.syncSelection())
	}
	return nil
}

func more(n int) string {
	if n > 0 {
		return fmt.Sprintf(" (and %d more)", n)
	}
	return ""
}

func (m *Model) say(text string, isErr bool) {
	m.status, m.statusErr = text, isErr
}

// key handles a key press: global keys first, then the focused pane's.
func (m *Model) key(msg tea.KeyMsg) tea.Cmd {
	k := m.keys
	if key.Matches(msg, k.ForceQuit) {
		return m.quit()
	}
	// Bubble Tea delivers runes that arrive in one read (fast typing,
	// tmux send-keys) as one message; each is a key press here.
	if msg.Type == tea.KeyRunes && len(msg.Runes) > 1 && !msg.Paste {
		var cmds []tea.Cmd
		for _, r := range msg.Runes {
			cmds = append(cmds, m.key(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: msg.Alt}))
		}
		return tea.Batch(cmds...)
	}
	if m.screen == screenBench && m.rules.Filtering() {
		var cmd tea.Cmd
		m.rules, cmd = m.rules.Update(msg)
		return tea.Batch(cmd, m.syncSelection())
	}
	switch {
	case key.Matches(msg, k.Quit):
		return m.quit()
	case key.Matches(msg, k.Help):
		m.help.ShowAll = !m.help.ShowAll
		return nil
	case key.Matches(msg, k.Cancel) && m.cancelWork():
		return nil
	case key.Matches(msg, k.Cancel) && m.help.ShowAll:
		m.help.ShowAll = false
		return nil
	case key.Matches(msg, k.Cancel) && m.zoom:
		m.zoom = false
		return nil
	case key.Matches(msg, k.Cancel) && m.screen == screenTriage:
		m.screen = screenBench
		m.setFocus(paneEvents)
		return nil
	case key.Matches(msg, k.Cancel) && m.screen == screenReplay:
		m.screen = screenBench
		m.setFocus(paneRules)
		return nil
	case key.Matches(msg, k.Replay):
		return m.startReplay(false)
	case key.Matches(msg, k.ReplayRule):
		return m.startReplay(true)
	case key.Matches(msg, k.ReplayView):
		if m.screen == screenReplay {
			m.screen = screenBench
			m.setFocus(paneRules)
			return nil
		}
		if !m.replay.Started() {
			m.say("no replay yet: P replays the event files through the enabled rules, ctrl+p through the selected rule", true)
			return nil
		}
		m.showReplay()
		return m.syncReplay()
	case key.Matches(msg, k.Tests):
		return m.startTests(m.repo.Detections, "", false)
	case key.Matches(msg, k.Triage):
		if m.screen == screenTriage {
			m.screen = screenBench
			m.setFocus(paneRules)
		} else {
			m.screen = screenTriage
			m.setFocus(paneTriageList)
			return m.syncTriage()
		}
		return nil
	case key.Matches(msg, k.NextPane), key.Matches(msg, k.PrevPane):
		panes := benchPanes
		switch m.screen {
		case screenTriage:
			panes = triagePanes
		case screenReplay:
			panes = replayPanes
		}
		i := slices.Index(panes, m.focus)
		d := 1
		if key.Matches(msg, k.PrevPane) {
			d = len(panes) - 1
		}
		m.setFocus(panes[(i+d)%len(panes)])
		return nil
	case key.Matches(msg, k.Zoom):
		m.zoom = !m.zoom
		return nil
	}
	if m.screen == screenReplay {
		var cmd tea.Cmd
		if m.focus == paneReplaySource {
			m.rsource, cmd = m.rsource.Update(msg)
			return cmd
		}
		m.replay, cmd = m.replay.Update(msg)
		return tea.Batch(cmd, m.syncReplay())
	}
	if m.screen == screenTriage {
		var cmd tea.Cmd
		if m.focus == paneTriageSource {
			m.tsource, cmd = m.tsource.Update(msg)
			return cmd
		}
		m.triage, cmd = m.triage.Update(msg)
		return tea.Batch(cmd, m.syncTriage())
	}
	switch {
	case key.Matches(msg, k.Run):
		return m.runSelected()
	case key.Matches(msg, k.RunNext):
		if m.busyRefusal() {
			return nil
		}
		if !m.events.SelectNext() {
			m.say("no next event in this group", false)
			return nil
		}
		return tea.Batch(m.syncSelection(), m.runSelected())
	case key.Matches(msg, k.RunRest):
		items := m.events.Rest()
		if len(items) == 0 {
			m.say("select an event first", true)
			return nil
		}
		return m.runItems(items, fmt.Sprintf("%d events from %s", len(items), items[0].Label))
	case key.Matches(msg, k.Filter):
		m.setFocus(paneRules)
		return m.rules.StartFilter()
	case key.Matches(msg, k.Pin):
		m.say(m.result.TogglePin(), false)
		return nil
	case key.Matches(msg, m.events.KeyMap().Edit):
		return m.events.Edit(m.editor)
	case key.Matches(msg, k.OpenRule):
		d := m.rules.Selected()
		if d == nil || d.PythonFile == "" {
			m.say("select a rule with a Python file", true)
			return nil
		}
		return openRule(m.editor, d.PythonFile, m.source.ErrorLine())
	}
	var cmd tea.Cmd
	switch m.focus {
	case paneRules:
		m.rules, cmd = m.rules.Update(msg)
	case paneEvents:
		m.events, cmd = m.events.Update(msg)
	case paneResult:
		m.result, cmd = m.result.Update(msg)
	case paneSource:
		m.source, cmd = m.source.Update(msg)
	case paneCache:
		m.cache, cmd = m.cache.Update(msg)
	}
	return tea.Batch(cmd, m.syncSelection())
}

func (m *Model) quit() tea.Cmd {
	m.Close()
	return tea.Quit
}

// cancelWork stops the run, test run or replay in flight, if any.
func (m *Model) cancelWork() bool {
	switch {
	case m.replaying != nil:
		m.replaying.cancel()
		return true
	case m.running != nil:
		m.running.cancel()
		return true
	case m.testing != nil:
		m.testing.cancel()
		return true
	}
	return false
}

func (m *Model) setFocus(p paneID) {
	m.focus = p
	m.rules.SetFocused(p == paneRules)
	m.events.SetFocused(p == paneEvents)
	m.result.SetFocused(p == paneResult)
	m.source.SetFocused(p == paneSource)
	m.cache.SetFocused(p == paneCache)
	m.tsource.SetFocused(p == paneTriageSource)
	m.triage.SetFocusDetail(p == paneTriageDetail)
	m.rsource.SetFocused(p == paneReplaySource)
	switch p {
	case paneReplayDetail:
		m.replay.SetFocus(replay.PartDetail)
	case paneReplayProfile:
		m.replay.SetFocus(replay.PartProfile)
	default:
		m.replay.SetFocus(replay.PartList)
	}
	switch p {
	case paneResult, paneSource, paneCache:
		m.right = p
		if p != paneResult {
			m.rightWide = p
		}
	case paneTriageDetail, paneTriageSource:
		m.triageRight = p
	case paneReplayDetail, paneReplaySource, paneReplayProfile:
		m.replayRight = p
		if p != paneReplayDetail {
			m.replayRightWide = p
		}
	}
}

// syncSelection updates the panes that follow the selected rule and event.
func (m *Model) syncSelection() tea.Cmd {
	var cmds []tea.Cmd
	det := m.rules.Selected()
	id := m.rules.SelectedID()
	if id != m.shownDet || (det != nil && m.events.Detection() != det) {
		m.shownDet = id
		m.events.SetDetection(det)
		cmds = append(cmds, m.source.SetDetection(det))
		m.shownItem = "\x00" // force the item below to be shown
	}
	if det == nil {
		if le := m.rules.SelectedLoadError(); le != nil && m.shownItem != "load" {
			m.result.ShowLoadError(le, m.repo.Root)
			m.shownItem = "load"
		}
		return tea.Batch(cmds...)
	}
	it, ok := m.events.Selected()
	itemKey := ""
	if ok {
		itemKey = it.Key
	}
	if itemKey == m.shownItem {
		return tea.Batch(cmds...)
	}
	m.shownItem = itemKey
	if run, have := m.runs[det.ID+"\x00"+itemKey]; have && ok {
		m.result.SetRun(run)
		m.source.SetErrorLine(run.ErrorLine())
		cmds = append(cmds, m.cache.SetRun(m.runLabel(run), []cacheview.Step{{Label: run.Item.Label, Ops: opsOf(run)}}, m.fresh[run]))
	} else if ok {
		m.result.SetPreview(it, det)
		m.source.SetErrorLine(0)
	} else {
		m.result.SetRun(nil)
	}
	return tea.Batch(cmds...)
}

func opsOf(run *result.Run) []cache.Op {
	if run.Result == nil {
		return nil
	}
	return run.Result.CacheOps
}

func (m *Model) runLabel(run *result.Run) string {
	return fmt.Sprintf("run %d, %s", run.Seq, run.Item.Label)
}

// runSelected runs the selected rule on the selected event.
func (m *Model) runSelected() tea.Cmd {
	it, ok := m.events.Selected()
	if !ok {
		if m.rules.SelectedLoadError() != nil {
			m.say("a spec that did not load cannot run: fix it and save", true)
		} else {
			m.say("select an event to run (tab moves to the events pane)", true)
		}
		return nil
	}
	return m.runItems([]eventlist.Item{it}, it.Label)
}

func (m *Model) runItems(items []eventlist.Item, label string) tea.Cmd {
	det := m.rules.Selected()
	if det == nil {
		m.say("select a rule first", true)
		return nil
	}
	if m.busyRefusal() {
		return nil
	}
	m.runSeq++
	ctx, cancel := context.WithCancel(m.ctx)
	m.running = &activeRun{seq: m.runSeq, det: det, label: label, cancel: cancel, started: time.Now()}
	job := runJob{seq: m.runSeq, h: m.h, det: det, items: items, shared: m.cfg.Store, sharedTests: m.events.SharedTests()}
	m.showBusy()
	return tea.Batch(job.start(ctx), m.spin.Tick)
}

func (m *Model) showBusy() {
	var line string
	switch {
	case m.running != nil:
		line = m.spin.View() + " " + m.st.Text.Render("running "+m.running.label+"…") + m.st.Muted.Render(" esc cancels")
		if _, ready, _ := m.h.status(); !ready {
			line = m.spin.View() + " " + m.st.Text.Render("starting python…")
		}
	}
	m.result.SetBusy(line)
}

func (m *Model) runStep(msg runStepMsg) tea.Cmd {
	a := m.running
	if a == nil || msg.seq != a.seq {
		return nil
	}
	run := msg.run
	det := run.Detection
	m.runs[det.ID+"\x00"+run.Item.Key] = run
	if msg.fresh != nil {
		m.fresh[run] = msg.fresh
	}
	a.count++
	switch run.Outcome() {
	case eventlist.Alert:
		a.alerts++
	case eventlist.Error:
		a.errors++
	case eventlist.Pass:
		a.passed++
	case eventlist.Fail:
		a.failed++
	}
	m.events.SetOutcome(det.ID, run.Item.Key, run.Outcome())
	if run.Test != nil && run.Item.Kind == eventlist.KindTest {
		m.setTestStatus(det, run.Item.Test.Name, run.Test.Passed)
	}
	a.steps = append(a.steps, cacheview.Step{Label: run.Item.Label, Ops: opsOf(run)})
	a.fresh = msg.fresh
	if m.rules.SelectedID() != det.ID {
		return nil
	}
	// Follow the run through the list, so a sequence is watched as it goes.
	m.events.SelectKey(run.Item.Key)
	m.shownItem = run.Item.Key
	m.result.SetRun(run)
	m.source.SetErrorLine(run.ErrorLine())
	label := m.runLabel(run)
	if len(a.steps) > 1 {
		label = fmt.Sprintf("run %d, %d events", run.Seq, len(a.steps))
	}
	return m.cache.SetRun(label, a.steps, msg.fresh)
}

func (m *Model) runDone(msg runDoneMsg) tea.Cmd {
	a := m.running
	if a == nil || msg.seq != a.seq {
		return nil
	}
	m.running = nil
	m.result.SetBusy("")
	switch {
	case errors.Is(msg.err, context.Canceled):
		m.say(fmt.Sprintf("run %d cancelled after %d of its events", a.seq, a.count), true)
	case msg.err != nil:
		m.say("run failed: "+msg.err.Error(), true)
	case a.count == 1 && a.passed+a.failed == 1:
		m.say(fmt.Sprintf("ran %s: %s in %s", a.label, passFail(a.passed == 1), result.FormatDuration(msg.elapsed)), a.failed > 0)
	case a.count == 1:
		what := "no alert"
		switch {
		case a.alerts == 1:
			what = "ALERT"
		case a.errors == 1:
			what = "ERROR"
		}
		m.say(fmt.Sprintf("ran %s: %s in %s", a.label, what, result.FormatDuration(msg.elapsed)), a.errors > 0)
	default:
		text := fmt.Sprintf("ran %d events: %d alerts, %d errors", a.count, a.alerts, a.errors)
		if a.passed+a.failed > 0 {
			text += fmt.Sprintf(", %d tests passed, %d failed", a.passed, a.failed)
		}
		m.say(text+" in "+result.FormatDuration(msg.elapsed), a.errors+a.failed > 0)
	}
	return nil
}

func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

func (m *Model) setTestStatus(det *repo.Detection, name string, passed bool) {
	if m.tests[det.ID] == nil {
		m.tests[det.ID] = map[string]bool{}
	}
	m.tests[det.ID][name] = passed
	m.updateBadge(det)
}

// updateBadge derives a detection's status from what is known of its tests:
// failed as soon as one failed, passed once all passed.
func (m *Model) updateBadge(det *repo.Detection) {
	known := m.tests[det.ID]
	badge := rules.NotRun
	if m.broken[det.ID] {
		badge = rules.Failed
	} else if len(det.Tests) > 0 {
		all := true
		for _, t := range det.Tests {
			passed, ok := known[t.Name]
			if ok && !passed {
				badge = rules.Failed
				break
			}
			all = all && ok
		}
		if badge != rules.Failed && all {
			badge = rules.Passed
		}
	}
	m.rules.SetBadge(det.ID, badge)
}

func (m *Model) startTests(dets []*repo.Detection, testName string, rerun bool) tea.Cmd {
	if m.testing != nil {
		m.say("tests are already running (esc cancels them)", true)
		return nil
	}
	if m.replaying != nil {
		m.say(replayBusy, true)
		return nil
	}
	m.runSeq++
	ctx, cancel := context.WithCancel(m.ctx)
	m.testing = &activeTests{seq: m.runSeq, cancel: cancel}
	if !rerun || !m.triage.Started() {
		m.triage.Start(m.repo, m.repo.Detections)
	}
	if !rerun {
		m.screen = screenTriage
		m.zoom = false
		m.setFocus(paneTriageList)
		m.say(fmt.Sprintf("running the tests of %d detections…", len(dets)), false)
	} else {
		what := "the tests of " + dets[0].ID
		if testName != "" {
			what = "test " + testName
		}
		m.testing.what, m.testing.det, m.testing.test = what, dets[0], testName
		m.say("re-running "+what+"…", false)
	}
	job := testJob{seq: m.runSeq, h: m.h, dets: dets, testName: testName, rerun: rerun}
	return tea.Batch(job.start(ctx), m.spin.Tick)
}

func (m *Model) testsReport(msg testsReportMsg) tea.Cmd {
	if m.testing == nil || msg.seq != m.testing.seq {
		return nil
	}
	rep := msg.report
	d := rep.Detection
	if d == nil {
		return nil
	}
	m.triage.Add(rep)
	m.broken[d.ID] = rep.LoadError != nil || len(rep.Problems) > 0
	if m.tests[d.ID] == nil {
		m.tests[d.ID] = map[string]bool{}
	}
	for i := range rep.Tests {
		t := rep.Tests[i]
		m.tests[d.ID][t.Name] = t.Passed
		item := eventlist.Item{Kind: eventlist.KindTest, Key: "test:" + t.Name, Label: "test " + t.Name}
		for k := range d.Tests {
			if d.Tests[k].Name == t.Name {
				item.Test, item.Raw = &d.Tests[k], d.Tests[k].Data
			}
		}
		run := &result.Run{Seq: msg.seq, Detection: d, Item: item, Result: t.Result, Test: &t, Fresh: true}
		m.runs[d.ID+"\x00"+item.Key] = run
		m.events.SetOutcome(d.ID, item.Key, run.Outcome())
	}
	m.updateBadge(d)
	if d.ID == m.shownDet {
		m.shownItem = "\x00"
	}
	return tea.Batch(m.syncTriage(), m.syncSelection())
}

func (m *Model) testsDone(msg testsDoneMsg) tea.Cmd {
	if m.testing == nil || msg.seq != m.testing.seq {
		return nil
	}
	what, rerun := m.testing.what, *m.testing
	m.testing = nil
	err := msg.err
	if errors.Is(err, context.Canceled) {
		err = errors.New("cancelled")
	}
	if !msg.rerun {
		m.triage.Finish(err, msg.elapsed)
	} else {
		m.triage.Finish(nil, msg.elapsed)
	}
	passed, failed, _ := m.triage.Counts()
	switch {
	case err != nil:
		m.say("tests: "+err.Error(), true)
	case what != "":
		verdict := "passes"
		if m.failing(rerun.det, rerun.test) {
			verdict = "still fails"
		}
		m.say(fmt.Sprintf("re-ran %s: %s (%d passed, %d failed in all)", what, verdict, passed, failed), verdict != "passes")
	default:
		m.say(fmt.Sprintf("tests: %d passed, %d failed in %s", passed, failed, result.FormatDuration(msg.elapsed)), failed > 0)
	}
	return m.syncTriage()
}

// failing reports whether a test (or, without a name, any test of the
// detection) is known to fail.
func (m *Model) failing(d *repo.Detection, test string) bool {
	if test != "" {
		passed, ok := m.tests[d.ID][test]
		return ok && !passed
	}
	if m.broken[d.ID] {
		return true
	}
	for _, passed := range m.tests[d.ID] {
		if !passed {
			return true
		}
	}
	return false
}

// syncTriage shows the selected test's detection beside the triage list,
// with its failing line marked.
func (m *Model) syncTriage() tea.Cmd {
	row, ok := m.triage.Selected()
	if !ok || row.Report == nil {
		return nil
	}
	cmd := m.tsource.SetDetection(row.Report.Detection)
	m.tsource.SetErrorLine(m.triage.ErrorLine())
	return cmd
}

func (m *Model) reloadCmd(paths []string) tea.Cmd {
	seq := m.reloadSeq
	load := m.cfg.Load
	if load == nil {
		root := m.repo.Root
		load = func() (*repo.Repository, error) { return repo.Load(root) }
	}
	inner := reload(m.ctx, load, m.cfg.Engine, paths)
	return func() tea.Msg {
		msg := inner().(reloadedMsg)
		msg.seq = seq
		return msg
	}
}

func (m *Model) reloaded(msg reloadedMsg) tea.Cmd {
	if msg.seq != m.reloadSeq {
		if msg.h != nil {
			msg.h.retire()
		}
		return nil
	}
	if msg.err != nil {
		m.say("reload: "+msg.err.Error(), true)
		return nil
	}
	old := m.h
	m.h = msg.h
	// Stopping the old workers takes a moment: not on the UI's time.
	go old.retire()
	m.repo = msg.repo
	m.rules.SetRepository(msg.repo)
	m.result.SetRoot(msg.repo.Root)

	// Forget what was learnt about detections whose files changed; a
	// helper or data model can change any of them.
	userEvents := false
	changed := map[string]bool{}
	anyShared := false
	for _, p := range msg.paths {
		if slices.ContainsFunc(m.cfg.UserEvents, func(u string) bool { return sameFile(u, p) }) {
			userEvents = true
			continue
		}
		owned := false
		for _, d := range msg.repo.Detections {
			if sameFile(d.SpecFile, p) || sameFile(d.PythonFile, p) {
				changed[d.ID], owned = true, true
			}
		}
		if !owned {
			anyShared = true
		}
	}
	for _, d := range msg.repo.Detections {
		if anyShared || changed[d.ID] {
			delete(m.tests, d.ID)
			delete(m.broken, d.ID)
			m.events.ClearOutcomes(d.ID)
		}
		m.updateBadge(d)
	}
	m.rsource.SetRoot(msg.repo.Root)
	m.replay.SetRoot(msg.repo.Root)
	cmds := []tea.Cmd{m.source.Invalidate(), m.tsource.Invalidate(), m.rsource.Invalidate()}
	if userEvents {
		cmds = append(cmds, loadEvents(m.cfg.SampleEvents, m.cfg.UserEvents))
	}
	showingRun := m.result.Current() != nil
	m.shownDet = "\x00"
	cmds = append(cmds, m.syncSelection())
	if n := len(msg.repo.Errors); n > 0 {
		m.say(fmt.Sprintf("reloaded (%s changed): %d specs did not load", m.names(msg.paths), n), true)
	} else {
		m.say(fmt.Sprintf("reloaded (%s changed)", m.names(msg.paths)), false)
	}
	// Re-run what was on screen, against the new code.
	switch {
	case m.screen == screenTriage && m.triage.Started():
		if row, ok := m.triage.Selected(); ok && row.Report != nil {
			if d := msg.repo.Detection(row.Report.Detection.ID); d != nil {
				name := ""
				if row.Test != nil {
					name = row.Test.Name
				}
				cmds = append(cmds, m.startTests([]*repo.Detection{d}, name, true))
			}
		}
	case showingRun && m.running == nil && m.replaying == nil:
		cmds = append(cmds, m.runSelected())
	}
	return tea.Batch(cmds...)
}

func sameFile(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && aa == bb
}

// names lists changed files briefly, relative to the repository.
func (m *Model) names(paths []string) string {
	if len(paths) == 0 {
		return "a file"
	}
	var out []string
	for _, p := range paths {
		if rel, err := filepath.Rel(m.repo.Root, p); err == nil && !strings.HasPrefix(rel, "..") {
			p = rel
		} else {
			p = filepath.Base(p)
		}
		out = append(out, p)
	}
	if len(out) > 2 {
		return fmt.Sprintf("%s and %d more", strings.Join(out[:2], ", "), len(out)-2)
	}
	return strings.Join(out, ", ")
}
