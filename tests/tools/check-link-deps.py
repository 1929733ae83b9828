#!/usr/bin/env python3
"""Every library a build links comes from a package `make deps` installs, or one they depend on.

check-link-deps.py BUILD_DIR... [--packages FILE] [-v]

Reads every CMake link line (CMakeFiles/*/link.txt) of each BUILD_DIR and asks its compiler driver
(`-###`) for the linker command it really runs, so the implicit libraries count too (crt files,
libstdc++, libgcc, sanitizer and libFuzzer runtimes); for each target already built, also the
shared libraries it needs at run time (ELF NEEDED, resolved by ldd). Each -lNAME is resolved the
way the linker does (its -L directories in order; NAME.so before NAME.a in each, .a alone after
-Bstatic). Each system file found must be owned (dpkg -S) by a package in install-deps.sh's list
(--packages FILE: one a line, for the checker's own test) or in the closure of their Depends and
Pre-Depends (Recommends do not count: apt may be told to skip them). Files inside the source tree
or a BUILD_DIR (our own libraries, libopenvswitch) are the project's. A library that cannot be
found at all fails too: that is what a fresh machine would hit.
Exit 0 when all are accounted for, 1 with one line per violation otherwise.
"""

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.normpath(os.path.join(HERE, "..", ".."))
INSTALL_DEPS = os.path.join(SOURCE, "src", "tools", "install-deps.sh")


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


def run_in(cmd, cwd):
    return subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=cwd)


def package_list(path):
    if path:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    else:
        proc = run([INSTALL_DEPS, "--list"])
        if proc.returncode != 0:
            sys.exit(f"link-deps: {INSTALL_DEPS} --list failed: {proc.stderr.strip()}")
        text = proc.stdout
    return [p.strip() for p in text.split() if p.strip()]


def installed_packages():
    """name -> list of dependency groups (each a list of alternatives), and virtual -> providers."""
    fmt = "${Package}\\t${db:Status-Status}\\t${Provides}\\t${Pre-Depends}, ${Depends}\\n"
    proc = run(["dpkg-query", "-W", "-f=" + fmt])
    deps, provides = {}, {}

    def names(field):
        return [re.split(r"[\s(:]", alt.strip(), maxsplit=1)[0] for alt in field.split("|") if alt.strip()]

    for line in proc.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) != 4 or parts[1] != "installed":
            continue
        name = parts[0]
        groups = [names(g) for g in parts[3].split(",") if g.strip()]
        deps.setdefault(name, []).extend(groups)
        for virtual in names(parts[2].replace(",", "|")):
            provides.setdefault(virtual, set()).add(name)
    return deps, provides


def closure(roots, deps, provides):
    seen, todo = set(), list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for group in deps.get(name, []):
            for alt in group:  # every installed alternative: whichever apt chose counts
                for real in ([alt] if alt in deps else []) + sorted(provides.get(alt, ())):
                    if real not in seen:
                        todo.append(real)
    return seen


LINKERS = ("collect2", "ld", "ld.bfd", "ld.gold", "ld.lld")


def linker_args(tokens, cwd, placeholder):
    """The linker's own arguments for a compiler link line (None when the driver shows none).
    clang's -### insists that inputs exist: a target's objects not built yet are stood in for by
    an empty placeholder (they are ours either way)."""
    args = list(tokens[1:])
    for i, a in enumerate(args):
        if (not a.startswith("-") and (i == 0 or args[i - 1] != "-o") and a.endswith((".o", ".a"))
                and not os.path.exists(os.path.join(cwd, a))):
            args[i] = placeholder + os.path.splitext(a)[1]
    proc = run_in([tokens[0], "-###"] + args, cwd)
    for line in reversed(proc.stderr.splitlines()):
        try:
            words = shlex.split(line)
        except ValueError:
            continue
        if words and os.path.basename(words[0]) in LINKERS:
            return words[1:]
    return None


def resolve_lib(name, dirs, static):
    if name.startswith(":"):
        files = [name[1:]]
    else:
        files = [f"lib{name}.a"] if static else [f"lib{name}.so", f"lib{name}.a"]
    for d in dirs:
        for f in files:
            p = os.path.join(d, f)
            if os.path.exists(p):
                return p
    return None


def link_inputs(args, cwd):
    """(-l flags with the file each resolves to or None, other absolute input files)."""
    dirs, libs, files, static = [], [], [], False
    i = 0
    while i < len(args):
        a = args[i]
        value = args[i + 1] if i + 1 < len(args) else ""
        if a in ("-L", "-l", "-o", "-plugin", "-dynamic-linker", "-m"):
            i += 1
            a = a + value
        if a.startswith("-L"):
            dirs.append(os.path.normpath(os.path.join(cwd, a[2:])))
        elif a.startswith("-l"):
            libs.append((a, a[2:], static))
        elif a in ("-Bstatic", "-static", "-dn", "-non_shared"):
            static = True
        elif a in ("-Bdynamic", "-dy", "-call_shared"):
            static = False
        elif a.startswith(("-plugin/", "-dynamic-linker/")):
            files.append(a[a.index("/"):])
        elif a.startswith("--dynamic-list=/"):
            files.append(a.split("=", 1)[1])
        elif a.startswith("/") and os.path.isfile(a):
            files.append(a)
        i += 1
    return [(flag, resolve_lib(name, dirs, st)) for flag, name, st in libs], files


def ours(path, builds):
    real = os.path.realpath(path)
    return any(real == r or real.startswith(r + os.sep) for r in [os.path.realpath(SOURCE)] + builds)


def owners(paths):
    """path -> set of owning packages. The file itself, not what a symlink points to (the linker
    needs libssl.so from libssl-dev, not libssl.so.3 from libssl3); its directory may be reached
    through a symlink (/lib -> /usr/lib), so try the /usr-merged twin and the real directory."""
    candidates = {}
    for p in paths:
        c = []
        for q in (p, os.path.join(os.path.realpath(os.path.dirname(p)), os.path.basename(p))):
            c.append(q)
            c.append(q[4:] if q.startswith("/usr/") else "/usr" + q)
        candidates[p] = c
    flat = sorted({c for cs in candidates.values() for c in cs})
    owned = {}
    for i in range(0, len(flat), 200):
        proc = run(["dpkg", "-S"] + flat[i:i + 200])
        for line in proc.stdout.splitlines():
            if line.startswith("diversion ") or ": " not in line:
                continue
            pkgs, path = line.split(": ", 1)
            owned.setdefault(path, set()).update(x.strip().split(":")[0] for x in pkgs.split(","))
    return {p: set().union(*(owned.get(c, set()) for c in cs)) for p, cs in candidates.items()}


def link_lines(build):
    for top, dirs, files in os.walk(build):
        dirs[:] = [d for d in dirs if d != "fresh-root"]
        if "link.txt" in files:
            yield os.path.join(top, "link.txt")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build", nargs="+", help="CMake build trees (Unix Makefiles)")
    ap.add_argument("--packages", help="package list file (default: install-deps.sh --list)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print each library and its owner")
    args = ap.parse_args()
    builds = [os.path.realpath(b) for b in args.build]

    uses = {}  # system file -> set of "target: how" it is used
    problems = []
    lines = [txt for b in builds for txt in link_lines(b)]
    if not lines:
        sys.exit(f"link-deps: no CMakeFiles/*/link.txt under {' '.join(builds)} (Unix Makefiles?)")
    scratch = tempfile.mkdtemp(prefix="link-deps-")
    placeholder = os.path.join(scratch, "placeholder")
    for ext in (".o", ".a"):
        open(placeholder + ext, "w").close()
    builds_and_scratch = builds + [scratch]
    for txt in lines:
        with open(txt, encoding="utf-8") as f:
            tokens = shlex.split(f.read())
        if "-o" not in tokens:
            continue  # ar/ranlib: a static library of ours, nothing linked
        build = next(b for b in builds if txt.startswith(b + os.sep))
        cwd = os.path.dirname(os.path.dirname(os.path.dirname(txt)))
        output = tokens[tokens.index("-o") + 1]
        target = os.path.relpath(os.path.join(cwd, output), os.path.dirname(build))
        largs = linker_args(tokens, cwd, placeholder)
        if largs is None:
            problems.append(f"{target}: {tokens[0]} -### shows no linker command")
            continue
        libs, files = link_inputs(largs, cwd)
        for flag, found in libs:
            if found is None:
                problems.append(f"{target}: {flag}: cannot find it (no installed package has it)")
            elif not ours(found, builds_and_scratch):
                uses.setdefault(os.path.normpath(found), set()).add(f"{target}: {flag}")
        for path in files:
            if not ours(path, builds_and_scratch):
                uses.setdefault(os.path.normpath(path), set()).add(f"{target}: {path}")
        binary = os.path.join(cwd, output)
        if os.path.isfile(binary):
            proc = run(["ldd", binary])
            for line in proc.stdout.splitlines():
                m = re.match(r"\s*(\S+) => (\S+)", line)
                if m and m.group(2) == "not":
                    problems.append(f"{target}: needs {m.group(1)}: not installed")
                elif m and not ours(m.group(2), builds):
                    uses.setdefault(m.group(2), set()).add(f"{target}: needs {m.group(1)}")

    shutil.rmtree(scratch)
    roots = package_list(args.packages)
    deps, provides = installed_packages()
    for p in roots:
        if p not in deps:
            problems.append(f"package {p} from the list is not installed (make deps)")
    allowed = closure([p for p in roots if p in deps], deps, provides)
    owner = owners(sorted(uses))
    for path in sorted(uses):
        how = sorted(uses[path])
        example = how[0] + (f" (and {len(how) - 1} more)" if len(how) > 1 else "")
        if args.verbose:
            print(f"{path}: {', '.join(sorted(owner[path])) or '-'} ({example})")
        if not owner[path]:
            problems.append(f"{example}: {path} belongs to no Debian package")
        elif not owner[path] & allowed:
            problems.append(f"{example}: {path} comes from {', '.join(sorted(owner[path]))}, "
                            "which is neither in install-deps.sh nor a dependency of it")
    for p in problems:
        print(f"link-deps: {p}")
    if problems:
        return 1
    print(f"link-deps: ok: {len(lines)} link lines, {len(uses)} system libraries, all from "
          f"install-deps.sh's {len(roots)} packages and their dependencies ({len(allowed)} packages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
