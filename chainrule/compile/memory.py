"""Memory for the replay: which buffers share an array, and what must be copied out.

A lowered step (``lower.py``) writes into buffers allocated at trace time. Many values live
briefly (an activation's gradient is read by the next rule and then dead), so ``plan`` gives
values whose lifetimes do not overlap the same array, as a register allocator would: a value
takes the array of one that died at an earlier line, or, when the step says it may (an
elementwise NumPy call reading its input before writing, ``np.multiply(g, m, out=g)``), of
one that dies at its own line.

What the call hands out must survive the next call: a returned array that lives in a buffer
(or may be a view of one: the output of a generic line is assumed to alias its inputs) is
copied, and so is a gradient assigned to ``.grad`` that is still set when the call ends. A
``.grad`` assignment that a later ``zero_grad()`` undoes before anything reads it (the usual
training step) is not written at all.
"""
from __future__ import annotations

import ast
import re

import numpy as np

_STORE = re.compile(r"(\w+)\.grad = new_tensor\((\w+)\)")
_CLEAR = re.compile(r"(?:\w+\.grad = )+None")
_IDENT = re.compile(r"[A-Za-z_]\w*")


def plan(prog, lines: list[list], outputs: str, grad_none=frozenset()):
    """(lines, outputs text, {name: array}) for ``build``: dead ``.grad`` stores gone,
    escaping buffers copied, and the array each buffer name and view name stands for."""
    lines = _drop_dead_grad_stores(lines, grad_none)
    shared = set(prog.buffers) | prog.folded  # arrays that every call reuses
    aliases = _aliases(prog, lines, shared)

    def reads(text):  # the shared arrays ``text`` reads (directly, or through a view)
        names = prog.used_names(text)
        found = names & shared
        for n in names:
            found |= aliases.get(n, set())
        return found

    def copied(text, pattern):  # the shared names of ``pattern``'s group 1, copied
        return pattern.sub(lambda m: m.group(0).replace(
            m.group(1), f"{m.group(1)}.copy()") if reads(m.group(1)) else m.group(0), text)

    for line in lines:
        if _STORE.fullmatch(line[0]):  # a .grad that stays set when the call returns
            line[0] = copied(line[0], re.compile(r"new_tensor\((\w+)\)"))
    names = re.compile(r"\b((?<![.\w])[A-Za-z_]\w*)\b(?!\s*[(=.])")
    outputs = "".join(part if k % 2 else copied(part, names)  # (not inside a string)
                      for k, part in enumerate(re.split(r"('[^']*'|\"[^\"]*\")", outputs)))
    last: dict[str, int] = {}
    for i, (text, _) in enumerate(lines):
        for b in reads(text) & prog.buffers.keys():
            last[b] = i
    for b in reads(outputs) & prog.buffers.keys():
        last[b] = len(lines)
    return lines, outputs, _assign(prog, lines, last)


def _drop_dead_grad_stores(lines, grad_none):
    """``P.grad = new_tensor(g)`` that a later ``P.grad = None`` overwrites, with nothing
    between that could read it (a line naming ``P``, or an optimizer's own code)."""
    out = list(lines)
    for i, (text, _) in enumerate(lines):
        m = _STORE.fullmatch(text)
        if not m:
            continue
        p = m.group(1)
        for text2, tag2 in lines[i + 1:]:
            if _CLEAR.fullmatch(text2) and f"{p}.grad" in text2.split(" = "):
                out[i] = None
                break
            lowered = tag2 is not None and tag2[0] == "lowered"
            if (not lowered and p in _IDENT.findall(text2)) or "zero_grad(" in text2 \
                    or "step_param(" in text2:
                break
    out = [line for line in out if line is not None]
    stored = {m.group(1) for text, _ in out if (m := _STORE.fullmatch(text))}
    kept = []
    for text, tag in out:  # a .grad that is None on entry and never set: no need to clear
        if _CLEAR.fullmatch(text):
            targets = [t[:-len(".grad")] for t in text.split(" = ")[:-1]]
            targets = [t for t in targets if t not in grad_none or t in stored]
            if not targets:
                continue
            text = " = ".join(f"{t}.grad" for t in targets) + " = None"
        kept.append([text, tag])
    return kept


def _aliases(prog, lines, shared) -> dict[str, set]:
    """For each local a generic line assigns: the shared arrays it may be a view of."""
    aliases: dict[str, set] = {}
    for text, tag in lines:
        if tag is not None and tag[0] == "lowered":
            continue
        try:
            tree = ast.parse(text)
        except SyntaxError:  # (every line is our own text; a guard spans lines)
            continue
        for stmt in tree.body:
            if not isinstance(stmt, ast.Assign):
                continue
            value = stmt.value
            if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) \
                    and value.func.attr == "copy" and not value.args:
                read = set()  # x.copy(): a fresh array
            else:
                read = {n.id for n in ast.walk(value) if isinstance(n, ast.Name)}
            read |= {prog.views[n][0] for n in read if n in prog.views}
            found = read & shared
            for n in read:
                found |= aliases.get(n, set())
            for target in stmt.targets:
                for n in ast.walk(target):
                    if isinstance(n, ast.Name):
                        aliases[n.id] = found
    return aliases


def _assign(prog, lines, last) -> dict:
    """The array each buffer name stands for: a value defined at line i takes an array
    freed before i (or, by the step's leave, one freed at i); views follow their buffers."""
    pool: dict[tuple, list] = {}
    phys: dict[str, object] = {}
    done: set[str] = set()  # names whose array went back to the pool or to a successor
    arrays = {}
    packed = set()  # packs whose array no later value took over
    for pname, members in prog.packs.items():  # views of one array, never shared
        if not all(m in last for m in members):
            continue
        packed.add(pname)
        flat = arrays[pname] = np.empty_like(prog.namespace[pname])
        offset = 0
        for m in members:
            buf = prog.buffers[m]
            phys[m] = flat[offset:offset + buf.size].reshape(buf.shape)
            offset += buf.size
            done.add(m)
    for i, (_, tag) in enumerate(lines):
        if tag is None or tag[0] != "lowered":
            continue
        for name, arr in phys.items():  # what died before this line frees its array
            if name not in done and last[name] < i:
                done.add(name)
                pool.setdefault((arr.shape, arr.dtype.str), []).append(arr)
        step = tag[1]
        for name in step.outs + step.temps:
            if name in phys:  # (packed)
                continue
            buf = prog.buffers[name]
            key = (buf.shape, buf.dtype.str)
            for c in step.takeover.get(name, ()):
                if c in phys and c not in done and last.get(c) == i and (
                        phys[c].shape, phys[c].dtype.str) == key:
                    phys[name] = phys[c]
                    done.add(c)
                    break
                if c in packed and all(last.get(m) == i for m in prog.packs[c]) and (
                        arrays[c].shape, arrays[c].dtype.str) == key:
                    phys[name] = arrays[c]  # (a pack's array: its members die here)
                    packed.discard(c)
                    break
            else:
                free = pool.get(key)
                phys[name] = free.pop() if free else buf
            last.setdefault(name, i)  # (a value nothing reads: free after its line)
    arrays.update(phys)
    for vname, (base, make) in prog.views.items():
        if base in phys:
            arrays[vname] = make(phys[base])
    return arrays
