"""MkDocs hook: show the docstrings' doctest examples (``>>>`` blocks) as Python code.

mkdocstrings hands docstring text to Markdown, where a bare ``>>> f(x)`` line followed by its
output is plain text: ``[1, 2]`` in an output even reads as a link. This adds a Markdown
preprocessor that fences every run of ``>>>``/``...`` lines and the output lines after them
(up to a blank line) as a ``pycon`` code block. Fenced blocks already in a page are left
alone.
"""
from __future__ import annotations

import re

from markdown import Extension
from markdown.preprocessors import Preprocessor

PROMPT = re.compile(r"^(\s*)>>> ")
FENCE = re.compile(r"^\s*(```|~~~)")


class _DoctestFence(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        in_fence = False
        i = 0
        while i < len(lines):
            line = lines[i]
            if FENCE.match(line):
                in_fence = not in_fence
            m = None if in_fence else PROMPT.match(line)
            if not m:
                out.append(line)
                i += 1
                continue
            indent = m.group(1)
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
                i += 1
            out += ["", f"{indent}```pycon", *(indent + b for b in block), f"{indent}```", ""]
        return out


class DoctestFenceExtension(Extension):
    def extendMarkdown(self, md) -> None:  # noqa: N802 (Markdown's API)
        # Before the fenced-code preprocessor (priority 25) turns our fences into code.
        md.preprocessors.register(_DoctestFence(md), "doctest_fence", 30)


def on_config(config, **kwargs):
    config.markdown_extensions.append(DoctestFenceExtension())
    return config
