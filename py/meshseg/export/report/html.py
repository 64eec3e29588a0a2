"""The report's HTML: one self-contained document, printable to A4 from a browser.

Everything is inside the file: the CSS in one ``<style>``, the pictures as ``data:``
URLs, no script, no font or link to fetch, and a Content-Security-Policy that lets
the page load nothing but its own inline style and ``data:`` images. Every text that
comes from outside (file, model and label names, warnings) is escaped.

Examples
--------
>>> figure = Figure("Axial", b"\\x89PNG...", "axial slice", "z = 1 mm",
...                 {"top": "A", "bottom": "P", "left": "L", "right": "R"})
>>> text = document(title="Report", subtitle="t1.nii.gz", meta=[("Model", "m")],
...                 notice="Research only.", figures=[figure], legend=[], notes=[],
...                 volumes=[], total=None, quality="", provenance=[])
>>> text.startswith("<!DOCTYPE html>"), "http" in text.replace("http-equiv", "")
(True, False)
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from html import escape

#: Rows from which the volume table is set smaller (about 60 to an A4 page).
LONG_TABLE = 30
#: What the report may load: its inline style and its data: pictures, nothing else.
CONTENT_SECURITY_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

STYLE = """
@page { size: A4; margin: 14mm 14mm 16mm;
  @bottom-left { content: "MeshSeg report \\2014  for research use only, not for diagnosis";
    font: 7.5pt system-ui, sans-serif; color: #5b6570; }
  @bottom-right { content: "page " counter(page) " of " counter(pages);
    font: 7.5pt system-ui, sans-serif; color: #5b6570; } }
:root { --ink: #1b2127; --muted: #56616c; --rule: #d3d9df; --accent: #1d5a85;
  --warn: #8a4700; --warn-bg: #fff3df; --ok: #1c6a36; --ok-bg: #e8f5ec; }
* { box-sizing: border-box; }
html { background: #e9edf1; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; color: var(--ink); font: 10pt/1.45 system-ui, -apple-system, "Segoe UI",
  Roboto, "Helvetica Neue", Arial, sans-serif; }
main { width: 210mm; max-width: 100%; margin: 8mm auto; padding: 14mm; background: #fff;
  box-shadow: 0 1px 4px rgba(0, 0, 0, .18); }
header { border-bottom: 2px solid var(--accent); padding-bottom: 3mm; margin-bottom: 4mm; }
h1 { font-size: 17pt; margin: 0 0 1mm; line-height: 1.2; }
h1 .sub { display: block; font-size: 11pt; font-weight: 500; color: var(--muted); margin-top: 1mm; }
h2 { font-size: 12pt; color: var(--accent); margin: 0 0 2.5mm; padding-bottom: 1mm;
  border-bottom: 1px solid var(--rule); break-after: avoid; }
h3 { font-size: 10pt; margin: 3mm 0 1mm; break-after: avoid; }
.meta { display: flex; flex-wrap: wrap; gap: 1mm 6mm; margin: 2mm 0 0; padding: 0; list-style: none;
  font-size: 9pt; color: var(--muted); }
.meta b { color: var(--ink); font-weight: 600; }
.notice { margin: 0 0 5mm; padding: 2mm 3.5mm; border-left: 4px solid #b56a00;
  background: var(--warn-bg); font-size: 9pt; break-inside: avoid; }
.notice strong { color: var(--warn); }
section { margin-top: 6mm; }
.figures { display: grid; grid-template-columns: repeat(2, minmax(0, 71mm)); gap: 3mm 6mm;
  justify-content: center; }
figure { margin: 0; break-inside: avoid; }
.frame { position: relative; background: #000; aspect-ratio: 1 / 1; overflow: hidden;
  border-radius: 1mm; }
.frame img { display: block; width: 100%; height: 100%; object-fit: contain; }
.ori { position: absolute; color: #fff; font-weight: 700; font-size: 10pt; line-height: 1;
  text-shadow: 0 0 2px #000, 0 0 4px #000; }
.ori.top { top: 1.6mm; left: 50%; transform: translateX(-50%); }
.ori.bottom { bottom: 1.6mm; left: 50%; transform: translateX(-50%); }
.ori.left { left: 1.8mm; top: 50%; transform: translateY(-50%); }
.ori.right { right: 1.8mm; top: 50%; transform: translateY(-50%); }
figcaption { margin-top: 1mm; font-size: 8.5pt; color: var(--muted); }
figcaption b { color: var(--ink); }
.legend { display: flex; flex-wrap: wrap; gap: 1mm 5mm; margin: 4mm 0 0; padding: 0;
  list-style: none; font-size: 8.5pt; break-inside: avoid; }
.swatch { display: inline-block; width: 3.2mm; height: 3.2mm; margin-right: 1.4mm;
  vertical-align: -0.5mm; border: 1px solid rgba(0, 0, 0, .45); border-radius: .5mm; }
.notes { margin: 3mm 0 0; padding-left: 4.5mm; font-size: 8.5pt; color: var(--muted); }
table { width: 100%; border-collapse: collapse; font-size: 9pt; }
thead { display: table-header-group; }
th, td { padding: 1.1mm 2mm; border-bottom: 1px solid var(--rule); text-align: left;
  vertical-align: top; }
th { font-weight: 600; background: #f3f5f7; }
tr { break-inside: avoid; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tfoot { display: table-row-group; }
tfoot td { font-weight: 600; border-top: 1.5px solid var(--ink); border-bottom: 0; }
table.long { font-size: 8pt; }
table.long th, table.long td { padding: .55mm 2mm; }
.status { display: inline-block; padding: .3mm 2mm; border-radius: 3mm; font-size: 8.5pt;
  font-weight: 600; margin-left: 2mm; }
.status.ok { color: var(--ok); background: var(--ok-bg); }
.status.warn { color: var(--warn); background: var(--warn-bg); }
.quality ul { margin: 1mm 0; padding-left: 5mm; }
.quality li.warning { color: var(--warn); }
.quality p { margin: 1mm 0; }
dl.provenance { display: grid; grid-template-columns: 42mm minmax(0, 1fr); gap: .9mm 4mm;
  margin: 0; font-size: 9pt; }
dl.provenance dt { color: var(--muted); }
dl.provenance dd { margin: 0; }
code { font: 8.5pt ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
  overflow-wrap: anywhere; }
footer { margin-top: 7mm; padding-top: 2mm; border-top: 1px solid var(--rule); font-size: 8pt;
  color: var(--muted); }
.break { break-before: page; }
@media screen and (max-width: 215mm) { main { margin: 0; padding: 6mm; }
  .figures { grid-template-columns: minmax(0, 1fr); } }
@media print { html { background: none; }
  main { width: auto; margin: 0; padding: 0; box-shadow: none; } }
"""


@dataclass(frozen=True)
class Figure:
    """One picture of the report: a title, PNG bytes, alt text, caption and edge letters."""

    title: str
    png: bytes = field(repr=False)
    alt: str
    caption: str
    letters: dict = field(default_factory=dict)


def data_url(png: bytes) -> str:
    """A ``data:`` URL of PNG bytes.

    Examples
    --------
    >>> data_url(b"\\x89PNG")
    'data:image/png;base64,iVBORw=='
    """
    return "data:image/png;base64," + base64.b64encode(bytes(png)).decode("ascii")


def swatch(colour) -> str:
    """A colour square (its colour as an inline style; hidden from screen readers).

    Examples
    --------
    >>> swatch((255, 0, 16))
    '<span class="swatch" style="background:#ff0010" aria-hidden="true"></span>'
    """
    r, g, b = (max(0, min(255, int(v))) for v in list(colour)[:3])
    return (f'<span class="swatch" style="background:#{r:02x}{g:02x}{b:02x}" '
            'aria-hidden="true"></span>')


def _figure(figure: Figure) -> str:
    letters = "".join(f'<span class="ori {side}" aria-hidden="true">{escape(text)}</span>'
                      for side, text in figure.letters.items())
    return (f'<figure data-testid="report-figure">'
            f'<div class="frame"><img src="{data_url(figure.png)}" alt="{escape(figure.alt)}">'
            f"{letters}</div><figcaption><b>{escape(figure.title)}</b> {figure.caption}"
            "</figcaption></figure>")


def volume_table(volumes, total) -> str:
    """The volume table: rows of (colour, label, name, voxels, ml) as text, a total row.

    The cells hold the CSV's own strings, so they read exactly as the CSV.

    Examples
    --------
    >>> table = volume_table([((255, 0, 0), "1", "a<b", "12", "0.012")], ("12", "0.012"))
    >>> body = table.split("<tbody>")[1].split("</tbody>")[0].strip()
    >>> for cell in body.split("</td>")[:-1]:
    ...     print(cell)
    <tr><td class="num">1
    <td><span class="swatch" style="background:#ff0000" aria-hidden="true"></span>a&lt;b
    <td class="num">12
    <td class="num">0.012
    """
    body = "".join(
        f'<tr><td class="num">{escape(label)}</td><td>{swatch(colour)}{escape(name)}</td>'
        f'<td class="num">{escape(voxels)}</td><td class="num">{escape(ml)}</td></tr>\n'
        for colour, label, name, voxels, ml in volumes)
    foot = ""
    if total is not None:
        foot = (f'<tfoot><tr><td></td><td>All labels</td><td class="num">{escape(total[0])}</td>'
                f'<td class="num">{escape(total[1])}</td></tr></tfoot>')
    long = ' class="long"' if len(volumes) > LONG_TABLE else ""
    return (f'<table{long} data-testid="volume-table"><thead><tr><th>Label</th><th>Name</th>'
            '<th class="num">Voxels</th><th class="num">Volume (mL)</th></tr></thead>\n'
            f"<tbody>\n{body}</tbody>{foot}</table>")


def _lead(text: str) -> str:
    """`text` escaped, its first sentence in bold.

    Examples
    --------
    >>> _lead("For research use only. Check <all>.")
    '<strong>For research use only.</strong> Check &lt;all&gt;.'
    """
    first, dot, rest = text.partition(". ")
    if not dot:
        return f"<strong>{escape(text)}</strong>"
    return f"<strong>{escape(first)}.</strong> {escape(rest)}"


def _provenance(items) -> str:
    rows = "".join(f'<dt>{escape(key)}</dt><dd data-field="{escape(field_id)}">{value}</dd>'
                   for field_id, key, value in items)
    return f'<dl class="provenance" data-testid="provenance">{rows}</dl>'


def document(*, title: str, subtitle: str, meta, notice: str, figures, legend, notes, volumes,
             total, quality: str, provenance, footer: str = "") -> str:
    """The whole report as HTML text.

    Parameters
    ----------
    title, subtitle : str
        The heading and the line below it (plain text).
    meta : list of (str, str)
        Key facts under the heading (plain text).
    notice : str
        The research-use notice (plain text).
    figures : list of Figure
        The pictures, in reading order (captions are HTML).
    legend : list of (colour, str)
        Colour squares and label names (plain text).
    notes : list of str
        How to read the pictures (HTML).
    volumes, total
        :func:`volume_table`'s arguments.
    quality : str
        The quality panel (HTML).
    provenance : list of (id, key, value)
        Provenance rows (value: HTML).
    footer : str
        Closing line (plain text).
    """
    meta_html = "".join(f"<li>{escape(key)}: <b>{escape(value)}</b></li>" for key, value in meta)
    legend_html = "".join(f"<li>{swatch(colour)}{escape(name)}</li>" for colour, name in legend)
    notes_html = "".join(f"<li>{note}</li>" for note in notes)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="generator" content="MeshSeg">',
        f"<title>{escape(title)} \N{EM DASH} {escape(subtitle)}</title>",
        f"<style>{STYLE}</style></head><body><main>",
        f'<header><h1>{escape(title)}<span class="sub">{escape(subtitle)}</span></h1>'
        f'<ul class="meta">{meta_html}</ul></header>',
        f'<p class="notice" data-testid="research-notice">{_lead(notice)}</p>',
        '<section aria-labelledby="h-pictures"><h2 id="h-pictures">Pictures</h2>',
        f'<div class="figures">{"".join(_figure(f) for f in figures)}</div>',
        f'<ul class="legend" data-testid="legend" aria-label="Label colours">{legend_html}</ul>'
        if legend_html else "",
        f'<ul class="notes">{notes_html}</ul>' if notes_html else "",
        "</section>",
        '<section class="break" aria-labelledby="h-volumes"><h2 id="h-volumes">Volumes</h2>',
        volume_table(volumes, total),
        "</section>",
        '<section class="quality" data-testid="quality" aria-labelledby="h-quality">'
        f'<h2 id="h-quality">Quality</h2>{quality}</section>',
        '<section aria-labelledby="h-provenance"><h2 id="h-provenance">Provenance</h2>',
        _provenance(provenance),
        "</section>",
        f"<footer>{escape(footer)}</footer>" if footer else "",
        "</main></body></html>",
    ]
    return "\n".join(part for part in parts if part) + "\n"
