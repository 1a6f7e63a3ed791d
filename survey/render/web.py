"""The web page of a report: pandoc HTML template and CSS (one self-contained file).

A sticky side navigation (the chapters, a link to the PDF), a cover band (edition, title,
publisher, partners, date), the ten-trend KPI cards as a grid, each ``.message`` section as a
card with its chart or table at full width and the insights below it, tables that scroll inside their card instead of widening the page, and a footer
with the disclaimer. No script: nothing can log a console error. The same classes as the
deck (``.message``, ``.takeaways``, ``.takeaway``, ``.kpi``, ``.insights``, ``.page-footer``,
``.synthetic-tag``) style the page, since pandoc's ``--section-divs`` puts a heading's
classes on its ``<section>``.

Example:
    >>> "$body$" in TEMPLATE and "position: sticky" in css("sans-serif")
    True
"""

from __future__ import annotations

TEMPLATE = """\
<!DOCTYPE html>
<html lang="$lang$">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="survey.render">
<title>$pagetitle$</title>
$for(css)$
<link rel="stylesheet" href="$css$">
$endfor$
</head>
<body>
<div class="layout">
<aside class="sidenav" aria-label="$labels.contents$">
<div class="brand">
$if(edition)$<span class="brand-edition">$edition$</span>$endif$
<span class="brand-title">$if(short-title)$$short-title$$else$$title$$endif$</span>
</div>
$if(toc)$
<nav id="TOC" role="doc-toc">
$table-of-contents$
</nav>
$endif$
$if(pdf-link)$
<a class="pdf-link" href="$pdf-link$">$labels.pdf$</a>
$endif$
</aside>
<main class="content">
<header class="cover" id="top">
$if(publisher)$<p class="cover-publisher">$publisher$</p>$endif$
<h1 class="cover-title">$if(edition)$<span class="cover-edition">$edition$</span>$endif$$title$</h1>
$if(subtitle)$<p class="cover-subtitle">$subtitle$</p>$endif$
$if(badge)$<p class="cover-badge">$badge$</p>$endif$
<dl class="cover-facts">
$if(partners)$<div><dt>$labels.partners$</dt><dd>$for(partners)$$partners$$sep$ · $endfor$</dd></div>$endif$
$if(date)$<div><dt>$labels.date$</dt><dd>$date$</dd></div>$endif$
</dl>
</header>
$body$
<footer class="page-end">
$if(disclaimer)$<p class="disclaimer"><strong>$labels.disclaimer$</strong> $disclaimer$</p>$endif$
$if(publisher)$<p class="publisher">© $publisher$</p>$endif$
</footer>
</main>
</div>
</body>
</html>
"""

_CSS = """\
:root { --navy: #0B2545; --accent: #1F7A8C; --accent-light: #8FD3DE; --soft: #EEF3F7;
        --ink: #1E2430; --muted: #5B6573; --rule: #C9D3DD; --tag: #B4541E; }
* { box-sizing: border-box; }
html { font-family: FONTS; color: var(--ink); background: #fff; -webkit-text-size-adjust: 100%; }
html:lang(en) body { font-feature-settings: "palt" 1; }  /* proportional curly quotes */
body { margin: 0; line-height: 1.7; font-size: 16px; hyphens: none; overflow-wrap: anywhere; }
.layout { display: grid; grid-template-columns: 260px minmax(0, 1fr); min-height: 100vh; }
.sidenav { position: sticky; top: 0; align-self: start; height: 100vh; overflow-y: auto;
           background: var(--navy); color: #DCE6F0; padding: 1.6em 1.2em; }
.brand { margin-bottom: 1.4em; }
.brand-edition { display: block; font-size: 2em; font-weight: 700; color: var(--accent-light);
                 line-height: 1.1; }
.brand-title { font-weight: 700; color: #fff; }
.sidenav ul { list-style: none; padding-left: 0; margin: 0; }
.sidenav ul ul { padding-left: 1em; font-size: .92em; }
.sidenav li { margin: .35em 0; }
.sidenav a { color: #DCE6F0; text-decoration: none; }
.sidenav a:hover, .sidenav a:focus { color: #fff; text-decoration: underline; }
.toc-section-number { color: var(--accent-light); margin-right: .5em; font-weight: 700; }
.pdf-link { display: inline-block; margin-top: 1.5em; padding: .45em 1em; border-radius: 4px;
            background: var(--accent); color: #fff !important; font-weight: 700; }
.content { min-width: 0; padding: 0 3em 3em; max-width: 1180px; }
.cover { background: var(--navy); color: #fff; margin: 0 -3em 2.5em; padding: 3em 3em 2.2em; }
.cover-publisher { color: var(--accent-light); font-weight: 700; letter-spacing: .06em; margin: 0; }
.cover-title { font-size: 2.4em; line-height: 1.25; margin: .4em 0 .2em; border: 0; color: #fff; }
.cover-edition { display: block; font-size: 1.5em; color: #fff; }
.cover-subtitle { color: #C8D6E5; font-size: 1.15em; margin: 0 0 1em; }
.cover-badge { display: inline-block; background: #FBEBDD; color: var(--tag); font-weight: 700;
               border-radius: 3px; padding: .3em .8em; margin: .2em 0 .4em; }
.cover-facts { margin: 1.2em 0 0; display: flex; flex-wrap: wrap; gap: .4em 2.5em; }
.cover-facts dt { color: var(--accent-light); display: inline; margin-right: .6em; }
.cover-facts dd { display: inline; margin: 0; color: #DCE6F0; }
h1, h2, h3 { line-height: 1.35; color: var(--navy); }
section.level1 > h1 { font-size: 1.8em; margin: 2.2em 0 .6em; padding-bottom: .3em;
                      border-bottom: 3px solid var(--accent); }
h2 .header-section-number { display: none; }
.chapter-lead { font-size: 1.12em; color: var(--muted); margin-bottom: 1.5em; }
section.level2 { background: #fff; border: 1px solid var(--rule); border-radius: 8px;
                 padding: 1.4em 1.6em 1em; margin: 1.6em 0; }
section.level2 > h2 { margin: 0 0 .8em; font-size: 1.3em; }
section.message > .survey-figure img { width: 100%; }
section.message > .insights { margin-top: .9em; }
.insights { background: var(--soft); border-radius: 6px; padding: .8em 1.1em; }
.insights ul { padding-left: 1.1em; margin: .3em 0; }
.insights li { margin: .45em 0; }
.insights li::marker { color: var(--accent); }
.page-footer { border-top: 1px solid var(--rule); margin-top: 1em; padding-top: .5em;
               font-size: .82em; color: var(--muted); }
.synthetic-tag { background: #FBEBDD; color: var(--tag); font-weight: 700; border-radius: 3px;
                 padding: 0 .4em; white-space: nowrap; }
.survey-figure { margin: 0; text-align: center; }
.survey-figure p { margin: 0; }
img, svg { max-width: 100%; height: auto; }
.survey-figure.size-mini img { max-height: 110px; }
figure { margin: 1.5em 0; text-align: center; }
figcaption, .table-caption { font-size: .92em; color: var(--muted); margin: .5em 0; }
.survey-table { overflow-x: auto; max-width: 100%; margin: .5em 0; }
.survey-table table { margin: 0 auto; }
table { overflow-wrap: normal; }
td.gt_right, td.gt_center, th.gt_right { white-space: nowrap; }
section.takeaways { display: grid; grid-template-columns: repeat(5, minmax(0, 1fr));
                    gap: 1em; background: var(--soft); border: 0; }
section.takeaways > h2, section.takeaways > :not(.takeaway) { grid-column: 1 / -1; }
.takeaway { background: #fff; border-radius: 8px; padding: 1em 1em .8em;
            border-top: 4px solid var(--accent); min-width: 0; }
.kpi { display: block; font-size: 2.1em; font-weight: 700; color: var(--accent); line-height: 1.15; }
.takeaway-title { display: block; font-weight: 700; color: var(--navy); margin: .3em 0; }
.takeaway-note { display: block; font-size: .88em; color: var(--muted); }
pre { background: #f6f8fa; padding: .8em 1em; border-radius: 4px; overflow-x: auto;
      font-size: .85em; line-height: 1.45; }
code { font-family: "DejaVu Sans Mono", monospace; }
table:not(.gt_table) { border-collapse: collapse; margin: 1em auto; }
table:not(.gt_table) th, table:not(.gt_table) td { padding: .3em .8em; border-bottom: 1px solid #ddd; }
a { color: var(--accent); }
.page-end { margin-top: 3em; border-top: 2px solid var(--navy); padding-top: 1em;
            font-size: .88em; color: var(--muted); }
@media (max-width: 1100px) {
  section.takeaways { grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); }
}
@media (max-width: 900px) {
  .layout { display: block; }
  .sidenav { position: sticky; top: 0; z-index: 5; height: auto; padding: .5em 1em .4em;
             display: grid; grid-template-columns: minmax(0, 1fr) auto; align-items: center;
             gap: .2em .8em; }
  .brand { margin: 0; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
  .brand-edition { display: inline; font-size: 1.1em; margin-right: .4em; }
  .pdf-link { margin: 0; padding: .25em .8em; white-space: nowrap; font-size: .9em; }
  .sidenav #TOC { grid-column: 1 / -1; overflow-x: auto; }
  .sidenav #TOC > ul { display: flex; gap: 1.1em; white-space: nowrap; padding-bottom: .2em; }
  .sidenav #TOC ul ul { display: none; }
  .sidenav li { margin: 0; font-size: .9em; }
  .content { padding: 0 1em 2em; }
  .cover { margin: 0 -1em 1.5em; padding: 2em 1em 1.5em; }
  .cover-title { font-size: 1.7em; }
  section.level2 { padding: 1em; }
  .kpi { font-size: 1.7em; }
}
"""


def css(fonts: str) -> str:
    """The page's CSS with ``fonts`` as the font stack."""
    return _CSS.replace("FONTS", fonts)
