// Package scroll holds the cursor and offset arithmetic the workbench's
// lists and text views share: a List keeps a cursor visible in a window of
// rows; a View scrolls rendered lines.
package scroll

// List is a cursor over Len rows shown Height at a time.
type List struct {
	Cursor, Offset int
	Len, Height    int
}

// SetLen changes the number of rows, keeping the cursor in range.
func (l *List) SetLen(n int) {
	l.Len = max(n, 0)
	l.clamp()
}

// SetHeight changes the number of visible rows.
func (l *List) SetHeight(h int) {
	l.Height = max(h, 1)
	l.clamp()
}

// Select moves the cursor to row i.
func (l *List) Select(i int) {
	l.Cursor = i
	l.clamp()
}

// Move moves the cursor by d rows.
func (l *List) Move(d int) { l.Select(l.Cursor + d) }

// Page is the distance of a page move.
func (l *List) Page() int { return max(l.Height-1, 1) }

// Visible is the range of rows to draw, [start, end).
func (l *List) Visible() (start, end int) {
	return l.Offset, min(l.Offset+max(l.Height, 1), l.Len)
}

func (l *List) clamp() {
	if l.Height < 1 {
		l.Height = 1
	}
	if l.Cursor >= l.Len {
		l.Cursor = l.Len - 1
	}
	if l.Cursor < 0 {
		l.Cursor = 0
	}
	if l.Cursor < l.Offset {
		l.Offset = l.Cursor
	}
	if l.Cursor >= l.Offset+l.Height {
		l.Offset = l.Cursor - l.Height + 1
	}
	// Keep the window full when rows were removed below it.
	if l.Offset > max(l.Len-l.Height, 0) {
		l.Offset = max(l.Len-l.Height, 0)
	}
	if l.Offset < 0 {
		l.Offset = 0
	}
}

// View scrolls a block of rendered lines.
type View struct {
	Lines  []string
	Offset int
	Height int
}

// SetLines replaces the content; keepOffset keeps the scroll position
// (for content that was refreshed rather than replaced).
func (v *View) SetLines(lines []string, keepOffset bool) {
	v.Lines = lines
	if !keepOffset {
		v.Offset = 0
	}
	v.clamp()
}

// SetHeight changes the number of visible lines.
func (v *View) SetHeight(h int) {
	v.Height = max(h, 1)
	v.clamp()
}

// Scroll moves the view by d lines.
func (v *View) Scroll(d int) {
	v.Offset += d
	v.clamp()
}

// Top and Bottom jump to the ends.
func (v *View) Top() { v.Offset = 0 }

// Bottom shows the last lines.
func (v *View) Bottom() {
	v.Offset = len(v.Lines)
	v.clamp()
}

// Page is the distance of a page move.
func (v *View) Page() int { return max(v.Height-1, 1) }

// Center scrolls so that line i (0-based) is near the middle.
func (v *View) Center(i int) {
	v.Offset = i - v.Height/2
	v.clamp()
}

// Visible returns the lines in the window.
func (v *View) Visible() []string {
	end := min(v.Offset+max(v.Height, 1), len(v.Lines))
	if v.Offset >= end {
		return nil
	}
	return v.Lines[v.Offset:end]
}

// More reports how many lines lie below the window.
func (v *View) More() int { return max(len(v.Lines)-v.Offset-max(v.Height, 1), 0) }

func (v *View) clamp() {
	if v.Height < 1 {
		v.Height = 1
	}
	if v.Offset > len(v.Lines)-v.Height {
		v.Offset = len(v.Lines) - v.Height
	}
	if v.Offset < 0 {
		v.Offset = 0
	}
}
