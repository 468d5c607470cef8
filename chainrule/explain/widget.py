"""``ex.widget()``: the live page as a Jupyter widget (anywidget, the ``widget`` extra).
The same script as the page draws it; an edited leaf goes to Python as a widget message,
chainrule recomputes (``live.apply_edit``) and the reply carries the new data."""
from __future__ import annotations

import json

from .page_js import PAGE_CSS, PAGE_JS

ESM = PAGE_JS + r"""
let sequence = 0;
function render({ model, el }) {
  const waiting = {};
  model.on("msg:custom", msg => {
    const done = waiting[msg.id];
    if (done) { delete waiting[msg.id]; done(msg); }
  });
  const send = msg => new Promise(resolve => {
    const id = ++sequence; waiting[id] = resolve; model.send({...msg, id});
  });
  const app = ChainruleExplain(el, JSON.parse(model.get("data")), {send, noKeys: true});
  model.on("change:data", () => app.update(JSON.parse(model.get("data"))));
}
export default { render };
"""


def _classes():
    try:
        import anywidget
        import traitlets
    except ImportError:
        raise ImportError("ex.widget() needs anywidget: pip install 'chainrule[widget]' "
                          "(or pip install anywidget)") from None

    class ExplainWidget(anywidget.AnyWidget):
        """An explanation in a notebook, live: edit a leaf and chainrule recomputes."""
        _esm = ESM
        _css = PAGE_CSS
        data = traitlets.Unicode("{}").tag(sync=True)

        def __init__(self, ex, **kwargs):
            from .render_html import _compare_for, page_data
            super().__init__(data=json.dumps(
                page_data(ex, live=True, compare=_compare_for(ex)), allow_nan=False), **kwargs)
            self.explanation = ex
            self.on_msg(self._edit)

        def _edit(self, _widget, content, _buffers=None):
            """An edit from the page: recompute, then answer (and keep ``data`` in step)."""
            from .live import apply_edit
            new, _, reply = apply_edit(self.explanation, content)
            if new is not None:
                self.explanation = new
                self.data = json.dumps(reply["data"], allow_nan=False)  # a redraw shows it
            self.send({"id": content.get("id") if isinstance(content, dict) else None,
                       **reply})

    return ExplainWidget


def widget(ex):
    """The widget for ``ex`` (see the module docstring)."""
    return _classes()(ex)
