"""Two small widgets that ipywidgets lacks: a real radio group, and a line a screen reader announces.

A screen reader learns what a control is from the page's markup, not from how
it looks. ipywidgets' ``RadioButtons`` draws radio buttons that share no
``name``, so they are not one group: arrow keys do not move between them and a
screen reader does not say "3 of 4". And when an ``HTML`` widget's text
changes, nothing is announced, because the page does not say the text is
"live". These two widgets fix exactly that and nothing else:

* ``ChoiceGroup(options, label)``: one ``role="radiogroup"`` whose radios share
  a ``name``; each radio's label is the whole option, so it wraps like text.
  ``index`` is the chosen option's position (None for none), as in
  ``RadioButtons``.
* ``LiveHTML(value)``: HTML in a ``role="status"``, ``aria-live="polite"``
  region that stays on the page while its content changes, so each new
  message is read out once (a region that is itself replaced is not).

Both are anywidget widgets: the few lines of JavaScript below run in
JupyterLab, Notebook 7 and VS Code alike, with nothing to build. Colours
come from JupyterLab's CSS variables, so they follow the light and dark
themes. Used by the quizzes, predictions and the dashboard (every chapter).
"""

import anywidget
import traitlets

__all__ = ["ChoiceGroup", "LiveHTML"]

_CHOICE_JS = """
let groups = 0;

function render({ model, el }) {
  groups += 1;
  const name = `lab-choice-${groups}-${Math.random().toString(36).slice(2, 8)}`;  // one name: one group
  const group = document.createElement("div");
  group.className = "lab-choice-group";
  group.setAttribute("role", "radiogroup");
  el.appendChild(group);

  function mark() {
    for (const input of group.querySelectorAll("input")) {
      input.checked = model.get("index") === Number(input.value);
      input.disabled = model.get("disabled");
    }
  }

  function draw() {
    group.setAttribute("aria-label", model.get("label"));
    group.replaceChildren();
    model.get("options").forEach((text, index) => {
      const label = document.createElement("label");
      const input = document.createElement("input");
      const words = document.createElement("span");
      label.className = "lab-choice";
      input.type = "radio";
      input.name = name;
      input.value = String(index);
      input.addEventListener("change", () => {
        model.set("index", index);
        model.save_changes();
      });
      words.textContent = text;
      label.append(input, words);
      group.appendChild(label);
    });
    mark();
  }

  draw();
  model.on("change:options", draw);
  model.on("change:label", draw);
  model.on("change:index", mark);
  model.on("change:disabled", mark);
}

export default { render };
"""

_CHOICE_CSS = """
.lab-choice-group { display: flex; flex-direction: column; gap: 2px; margin: 4px 0; }
.lab-choice { display: flex; align-items: flex-start; gap: 8px; padding: 3px 6px; border-radius: 4px;
              color: var(--jp-content-font-color1); font-size: var(--jp-content-font-size1); cursor: pointer; }
.lab-choice:hover { background: var(--jp-layout-color2); }
.lab-choice input { margin: 3px 0 0 0; flex: none; }
.lab-choice:has(input:disabled) { cursor: default; }
.lab-choice:has(input:focus-visible) { outline: 2px solid var(--jp-brand-color1); }
"""

_LIVE_JS = """
function render({ model, el }) {
  el.setAttribute("role", "status");          // a polite live region: read out after the current sentence
  el.setAttribute("aria-live", "polite");
  const content = document.createElement("div");
  content.className = "lab-live-content";
  el.appendChild(content);
  const draw = () => { content.innerHTML = model.get("value"); };
  draw();
  model.on("change:value", draw);
}

export default { render };
"""


class ChoiceGroup(anywidget.AnyWidget):
    """Radio buttons that form one group; ``index`` is the chosen position, None until one is chosen."""

    _esm = _CHOICE_JS
    _css = _CHOICE_CSS
    options = traitlets.List(traitlets.Unicode()).tag(sync=True)
    label = traitlets.Unicode("").tag(sync=True)       # what a screen reader calls the group
    index = traitlets.Int(None, allow_none=True).tag(sync=True)
    disabled = traitlets.Bool(False).tag(sync=True)

    def __init__(self, options, label, **kwargs):
        super().__init__(options=list(options), label=label, **kwargs)

    @traitlets.validate("index")
    def _valid_index(self, proposal):
        index = proposal["value"]
        if index is not None and not 0 <= index < len(self.options):
            raise traitlets.TraitError(f"index must be None or 0 to {len(self.options) - 1}, not {index}")
        return index

    def __repr__(self):
        return f"ChoiceGroup({self.label!r}: {len(self.options)} options)"


class LiveHTML(anywidget.AnyWidget):
    """HTML whose changes a screen reader announces (``role="status"``, ``aria-live="polite"``)."""

    _esm = _LIVE_JS
    value = traitlets.Unicode("").tag(sync=True)

    def __init__(self, value="", **kwargs):
        super().__init__(value=value, **kwargs)

    def __repr__(self):
        return "LiveHTML()"
