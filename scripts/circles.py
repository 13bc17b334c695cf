#!/usr/bin/env python3
"""Finds import circles between the files of Rust crates: `python3 scripts/circles.py DIR...`.

Each DIR is a crate's source folder (`host-tests/src`, `core/src`): `lib.rs` is the crate root (a `main.rs`
beside a `lib.rs` is a separate crate, which reaches the library only by its name, and is skipped), `a/mod.rs`
and `a.rs` are module `a`, `a/b.rs` is module `a::b`.

The rule, per file:
  - An edge goes from the file to the file of every module it names by a path relative to the crate:
    `crate::x::y`, `super::x`, `self::x` (in `use` declarations, `use` trees with braces, and paths anywhere in
    the code). A path is resolved to the longest prefix that is a module with a file; `use super::*` names the
    parent module itself. `pub use` re-exports are `use` declarations, hence edges.
  - `mod x;` declarations are not edges (a parent declaring its children is not an import), nor are comments
    (doc links), string literals, `$crate` in macros, or paths through other crates.
  - `super` inside an inline `mod tests { ... }` is the file's own module, so a test module's `use super::*`
    is not an edge; its other references are the file's.

The files and edges form a graph; every strongly connected component of two or more files is a circle. Each is
printed with one cycle through it and, per edge, the first line that makes it. Exit status 1 if there is any.
"""

import os
import re
import sys

REF = re.compile(r"(?<![\w$])(crate|super|self)((?:\s*::\s*(?:super|\w+))+)")
USE = re.compile(r"(?<![\w$])use\s+((?:crate|super|self)\b[^;]*);")
TOKEN = re.compile(r"\bmod\s+(\w+)\s*\{|[{}]")
VISIBILITY = re.compile(r"pub\s*\(\s*in\s+[^)]*\)")


def strip(text):
    """Blanks comments, string and char literals (keeping newlines and offsets)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "r" and re.match(r'r#*"', text[i:]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            hashes = re.match(r'r(#*)"', text[i:]).group(1)
            end = text.find('"' + hashes, i + 2 + len(hashes))
            j = n if end < 0 else end + 1 + len(hashes)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "'" and re.match(r"'(\\.[^']*|[^\\'])'", text[i:]):
            j = i + re.match(r"'(\\.[^']*|[^\\'])'", text[i:]).end()
            out.append(" " * (j - i))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def expand(tree):
    """The paths of a `use` tree: `a::{b, c::{self, d}}` -> [a::b, a::c, a::c::d]."""
    tree = re.sub(r"\s+", "", tree)
    tree = re.sub(r"\bas\w+", "", tree)
    paths = []

    def walk(prefix, s):
        # Splits s at top-level commas.
        depth, start, parts = 0, 0, []
        for k, ch in enumerate(s):
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            elif ch == "," and depth == 0:
                parts.append(s[start:k])
                start = k + 1
        parts.append(s[start:])
        for part in filter(None, parts):
            brace = part.find("{")
            if brace >= 0:
                head = part[:brace].rstrip(":")
                walk(prefix + ([x for x in head.split("::") if x]), part[brace + 1 : part.rfind("}")])
            else:
                segs = [x for x in part.split("::") if x]
                if segs == ["self"]:
                    paths.append(prefix)
                elif segs == ["*"]:
                    paths.append(prefix)
                else:
                    paths.append(prefix + [x for x in segs if x != "*"])

    walk([], tree)
    return paths


def modules(root):
    """Module path (tuple) -> file, for the crate in `root`."""
    found = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            if not f.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(dirpath, f), root)
            parts = rel[:-3].split(os.sep)
            if parts == ["lib"]:
                found[()] = rel
            elif parts == ["main"]:
                if not os.path.exists(os.path.join(root, "lib.rs")):
                    found[()] = rel
            elif parts[-1] == "mod":
                found[tuple(parts[:-1])] = rel
            elif len(parts) >= 2 and parts[0] == "bin":
                continue
            else:
                found[tuple(parts)] = rel
    return found


def resolve(segments, here, mods):
    """The module file a path names, or None: `here` is the module the path is written in."""
    segs = list(segments)
    if not segs:
        return None
    head = segs.pop(0)
    if head == "crate":
        base = []
    elif head == "self":
        base = list(here)
    else:  # super
        base = list(here[:-1])
        while segs and segs[0] == "super":
            segs.pop(0)
            base = base[:-1]
    full = base + segs
    for k in range(len(full), -1, -1):
        if tuple(full[:k]) in mods:
            return tuple(full[:k])
    return None


def edges_of(root, rel, mods, module):
    text = strip(open(os.path.join(root, rel), encoding="utf-8").read())
    text = VISIBILITY.sub(lambda m: " " * len(m.group(0)), text)
    # Inline modules: (start, end, name) spans, nesting kept by a stack of open braces.
    spans, stack = [], []
    for m in TOKEN.finditer(text):
        if m.group(1):
            stack.append((m.group(1), m.start()))
        elif m.group(0) == "{":
            stack.append((None, m.start()))
        elif stack:
            name, start = stack.pop()
            if name:
                spans.append((start, m.end(), name))

    def module_at(pos):
        inner = sorted((s for s in spans if s[0] <= pos < s[1]), key=lambda s: s[0])
        return tuple(module) + tuple(name for _, _, name in inner)

    line_of = lambda pos: text.count("\n", 0, pos) + 1
    refs = []
    used = []
    for m in USE.finditer(text):
        used.append((m.start(), m.end()))
        for path in expand(m.group(1)):
            refs.append((m.start(), path))
    for m in REF.finditer(text):
        if any(a <= m.start() < b for a, b in used):
            continue
        path = [m.group(1)] + [x for x in re.split(r"\s*::\s*", m.group(2)) if x]
        refs.append((m.start(), path))
    out = {}
    for pos, path in refs:
        target = resolve(path, module_at(pos), mods)
        if target is None or target == tuple(module):
            continue
        out.setdefault(target, line_of(pos))
    return out


def sccs(graph):
    """Tarjan's strongly connected components (iterative)."""
    index, low, on, stack, result, counter = {}, {}, set(), [], [], [0]
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on.add(start)
        while work:
            node, it = work[-1]
            advanced = False
            for nxt in it:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]
                    counter[0] += 1
                    stack.append(nxt)
                    on.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    advanced = True
                    break
                if nxt in on:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                result.append(sorted(comp))
    return result


def cycle_through(comp, graph):
    """One cycle from comp[0] back to itself inside the component (breadth first)."""
    members, start = set(comp), comp[0]
    prev, queue = {start: None}, [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph[node]):
            if nxt == start:
                path = [node]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [start]
            if nxt in members and nxt not in prev:
                prev[nxt] = node
                queue.append(nxt)
    return comp


def main(roots):
    found = 0
    for root in roots:
        mods = modules(root)
        graph, lines, circles = {}, {}, 0
        for module, rel in mods.items():
            targets = edges_of(root, rel, mods, module)
            graph[rel] = {mods[t] for t in targets}
            for t, line in targets.items():
                lines[(rel, mods[t])] = line
        for comp in sccs(graph):
            if len(comp) < 2:
                continue
            circles += 1
            cycle = cycle_through(comp, graph)
            print(f"{root}: import circle among {len(comp)} files: {', '.join(comp)}")
            for a, b in zip(cycle, cycle[1:]):
                print(f"  {a}:{lines[(a, b)]} -> {b}")
        print(f"{root}: {len(mods)} files, {sum(len(v) for v in graph.values())} edges, "
              f"{circles or 'no'} circle{'' if circles == 1 else 's'}")
        found += circles
    return 1 if found else 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1:]))
