package report

import (
	"fmt"
	"regexp"
	"strings"
)

// Markdown renders the report as GitHub-flavoured Markdown for a CI step summary: the same
// blocks as the HTML page, tables as pipe tables, plots named (they are in report.html).
func (r *Report) Markdown() []byte {
	var b strings.Builder
	b.WriteString("# Unikraft EuroSys'21 artifact — reproduction report\n\n")
	for _, s := range r.sections() {
		fmt.Fprintf(&b, "## %s\n\n", mdText(s.Title))
		for _, bl := range s.Blocks {
			if bl.Heading != "" {
				fmt.Fprintf(&b, "### %s\n\n", mdText(bl.Heading))
			}
			for _, t := range bl.Text {
				fmt.Fprintf(&b, "%s\n\n", mdText(t))
			}
			if bl.Alert != "" {
				fmt.Fprintf(&b, "> **%s**\n\n", mdText(bl.Alert))
			}
			for _, p := range bl.Plots {
				fmt.Fprintf(&b, "- Plot (in report.html): %s\n", mdText(p.Caption))
			}
			if len(bl.Plots) > 0 {
				b.WriteString("\n")
			}
			if bl.Table != nil {
				if bl.Summary != "" {
					fmt.Fprintf(&b, "%s\n\n", mdText(bl.Summary))
				}
				mdTable(&b, bl.Table)
			}
			for _, item := range bl.List {
				fmt.Fprintf(&b, "- %s\n", mdText(item))
			}
			if len(bl.List) > 0 {
				b.WriteString("\n")
			}
		}
	}
	return []byte(b.String())
}

func mdTable(b *strings.Builder, t *table) {
	row := func(cells []string) {
		b.WriteString("|")
		for _, c := range cells {
			b.WriteString(" " + mdCell(c) + " |")
		}
		b.WriteString("\n")
	}
	row(t.Head)
	b.WriteString("|" + strings.Repeat(" --- |", len(t.Head)) + "\n")
	for _, r := range t.Rows {
		row(r)
	}
	b.WriteString("\n")
}

// mdText keeps text literal: what would start raw HTML (a "<" before a letter, "/", "!" or
// "?"), a link or emphasis is escaped; "9 ms < 38 ms" and fig_10 stay as they are.
var (
	mdTag     = regexp.MustCompile(`<([A-Za-z/!?])`)
	mdEscaper = strings.NewReplacer(`\`, `\\`, "[", `\[`, "]", `\]`, "*", `\*`)
)

func mdText(s string) string { return mdTag.ReplaceAllString(mdEscaper.Replace(s), `\<$1`) }

// mdCell is mdText for a table cell: one line, no column separator.
func mdCell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "-"
	}
	return strings.ReplaceAll(mdText(s), "|", `\|`)
}
