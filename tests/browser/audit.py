"""What the suite checks on a page in Chromium: axe-core's WCAG 2.2 AA rules, that nothing is
wider than the screen, and that the keyboard's Tab reaches every field and button of every
form; and a screenshot under instance/screenshots/ for a person to look at."""
import re
from pathlib import Path

from tests.support import ROOT

PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
SCREENSHOTS = ROOT / "instance" / "screenshots"
# axe-core, vendored with its licence (vendor/LICENSE, MPL-2.0): the tests reach no other host.
AXE_SOURCE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
MAX_TABS = 400  # no page of ours has this many stops before its last field


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / (re.sub(r"[^\w.-]+", "_", name).strip("_") + ".png")
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_violations(page) -> list[str]:
    """One line per violated rule: its id, impact, and the first nodes' selectors."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.add_script_tag(content=AXE_SOURCE)
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags},"
                           " resultTypes: ['violations']})", WCAG_22_AA)
    return [f"axe {v['id']} ({v['impact']}): {v['help']} — "
            + "; ".join(" ".join(node["target"]) + (
                f" [{node['failureSummary'].splitlines()[-1].strip()}]"
                if node.get("failureSummary") else "")
                for node in v["nodes"][:3])
            + (f" … and {len(v['nodes']) - 3} more" if len(v["nodes"]) > 3 else "")
            for v in result["violations"]]


OVERFLOW_SCRIPT = """() => {
  const width = window.innerWidth;
  if (document.documentElement.scrollWidth <= width) return [];
  // Name the widest elements that stick out, to say what to fix.
  return [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > width + 0.5)
    .filter(e => !e.parentElement || e.parentElement.getBoundingClientRect().right <= width + 0.5)
    .slice(0, 5)
    .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
              + (e.className && typeof e.className === 'string'
                 ? '.' + e.className.trim().split(/\\s+/).join('.') : '')
              + ' (right edge ' + Math.round(e.getBoundingClientRect().right) + ' px)');
}"""


def overflow(page) -> list[str]:
    """What sticks out beyond the screen's width (document scrollWidth > innerWidth)."""
    culprits = page.evaluate(OVERFLOW_SCRIPT)
    if culprits == []:
        return []
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    return [f"horizontal overflow: scrollWidth {width[0]} > innerWidth {width[1]}: "
            + ", ".join(culprits)]


# Every control a citizen or a member of staff fills in or presses, numbered so that Tab's
# stops can be matched to them; radio buttons count once per group (arrow keys move within).
FORM_CONTROLS_SCRIPT = """() => {
  const visible = e => e.getClientRects().length > 0
    && getComputedStyle(e).visibility !== 'hidden' && !e.closest('[hidden], [inert]');
  const wanted = [];
  const radios = new Set();
  document.querySelectorAll('form').forEach(form => {
    form.querySelectorAll('input, select, textarea, button').forEach(e => {
      if (e.type === 'hidden' || e.disabled || !visible(e)) return;
      if (e.type === 'radio') {
        if (radios.has(form.id + '|' + e.name)) return;
        radios.add(form.id + '|' + e.name);
      }
      e.dataset.kbdTarget = wanted.length;
      wanted.push({name: e.name || e.textContent.trim().slice(0, 40), type: e.type,
                   radio: e.type === 'radio' ? e.name : null});
    });
  });
  return wanted;
}"""

# Which numbered control has the focus (a radio button: its group's), and the element itself.
FOCUSED_SCRIPT = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return [null, null];
  const html = e.outerHTML.slice(0, 200);
  if (e.type === 'radio') {
    const first = e.form && [...e.form.querySelectorAll('input[type=radio]')]
      .find(r => r.name === e.name && r.dataset.kbdTarget !== undefined);
    return [first ? first.dataset.kbdTarget : null, html];
  }
  return [e.dataset.kbdTarget === undefined ? null : e.dataset.kbdTarget, html];
}"""


def keyboard_gaps(page) -> list[str]:
    """Press Tab from the top of the page until every form control has had the focus (or the
    focus comes round again); name those it never reached."""
    wanted = page.evaluate(FORM_CONTROLS_SCRIPT)
    if not wanted:
        return []
    page.evaluate("() => { document.activeElement && document.activeElement.blur();"
                  " window.scrollTo(0, 0); }")
    missing = set(range(len(wanted)))
    first_stop = None
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        stop, marker = page.evaluate(FOCUSED_SCRIPT)
        if stop is not None:
            missing.discard(int(stop))
        if not missing:
            return []
        if marker is None:
            continue
        if first_stop is None:
            first_stop = marker
        elif marker == first_stop:
            break  # came round: the rest is out of Tab's reach
    return [f"keyboard: Tab never reaches {wanted[i]['type']} {wanted[i]['name']!r}"
            for i in sorted(missing)]
