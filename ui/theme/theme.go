// Package theme holds every colour and style rulebench draws with, for the
// workbench and for the command line's text output. No other package names
// a colour.
package theme

import (
	"io"

	"github.com/charmbracelet/lipgloss"
)

// Palette: the colours, adaptive to light and dark terminals.
var (
	Pass    = lipgloss.AdaptiveColor{Light: "#1a7f37", Dark: "#3fb950"}
	Fail    = lipgloss.AdaptiveColor{Light: "#cf222e", Dark: "#f85149"}
	Warn    = lipgloss.AdaptiveColor{Light: "#9a6700", Dark: "#d29922"}
	Muted   = lipgloss.AdaptiveColor{Light: "#6e7781", Dark: "#8b949e"}
	Accent  = lipgloss.AdaptiveColor{Light: "#0969da", Dark: "#58a6ff"}
	Fg      = lipgloss.AdaptiveColor{Light: "#1f2328", Dark: "#e6edf3"}
	Subtle  = lipgloss.AdaptiveColor{Light: "#d0d7de", Dark: "#30363d"}
	Magenta = lipgloss.AdaptiveColor{Light: "#8250df", Dark: "#bc8cff"}
	Cyan    = lipgloss.AdaptiveColor{Light: "#1b7c83", Dark: "#39c5cf"}

	// Backgrounds: the selected row and the source line an error points at.
	SelectionBg = lipgloss.AdaptiveColor{Light: "#ddf4ff", Dark: "#1f2d3d"}
	ErrorLineBg = lipgloss.AdaptiveColor{Light: "#ffebe9", Dark: "#3d1d20"}
)

// TextStyles are the styles for command-line output. They render plain when the output
// is not a terminal (lipgloss detects the profile from the writer).
type TextStyles struct {
	Pass, Fail, Warn, Muted, Bold, Accent, Header lipgloss.Style
}

// ForWriter returns text styles bound to w's colour support.
func ForWriter(w io.Writer) TextStyles {
	r := lipgloss.NewRenderer(w)
	return WithRenderer(r)
}

// Plain returns styles that never emit escape codes.
func Plain() TextStyles {
	return TextStyles{}
}

// WithRenderer returns text styles drawn by r (which fixes the colour profile).
func WithRenderer(r *lipgloss.Renderer) TextStyles {
	return TextStyles{
		Pass:   r.NewStyle().Foreground(Pass).Bold(true),
		Fail:   r.NewStyle().Foreground(Fail).Bold(true),
		Warn:   r.NewStyle().Foreground(Warn),
		Muted:  r.NewStyle().Foreground(Muted),
		Bold:   r.NewStyle().Bold(true),
		Accent: r.NewStyle().Foreground(Accent),
		Header: r.NewStyle().Foreground(Accent).Bold(true),
	}
}
