#!/usr/bin/python3
"""Writes a roff man page from a program's --help text (stdin), so the page says exactly what
--help says: both come from the same declarations (vlcpd's option and key tables).

  man-from-help.py NAME SECTION VERSION "one-line description" < help.txt > NAME.SECTION

The help text's shape: "Usage: ..." (the synopsis), a line of description, then sections, each
a line at column 0 ending with ':' (or "Title: text"), whose entries start with two spaces
("  TERM   description"), continued by more deeply indented lines.
"""
import re
import sys


def esc(text):
    text = text.replace("\\", "\\e").replace("-", "\\-")
    # A line starting with '.' or "'" would be read as a request.
    if text.startswith(".") or text.startswith("'"):
        text = "\\&" + text
    return text


def main():
    name, section, version, summary = sys.argv[1:5]
    lines = sys.stdin.read().splitlines()
    out = [
        '.TH %s %s "" "vlcp %s" "VLCP"' % (name.upper(), section, esc(version)),
        ".SH NAME",
        "%s \\- %s" % (esc(name), esc(summary)),
    ]
    entry = None  # [term, [description lines]] of the open entry
    described = False

    def close_entry():
        nonlocal entry
        if entry is not None:
            out.append(".TP")
            out.append("\\fB%s\\fR" % esc(entry[0]) if entry[0] else "\\&")
            out.append(esc(" ".join(entry[1])) if entry[1] else "\\&")
            entry = None

    in_description = False
    for line in lines:
        if not line.strip():
            close_entry()
            continue
        m = re.match(r"^Usage:\s*(.*)$", line)
        if m:
            close_entry()
            out += [".SH SYNOPSIS", esc(m.group(1)), ".SH DESCRIPTION"]
            in_description = True
            described = False
            continue
        if not line.startswith(" "):
            close_entry()
            m = re.match(r"^([A-Z][A-Za-z]*(?: [a-z][A-Za-z]*){0,2})(?: \((.*)\))?:\s*(.*)$", line)
            if m:
                if in_description and not described:
                    out.append(esc(summary[0].upper() + summary[1:] + "."))
                out.append(".SH %s" % esc(m.group(1).upper()))
                for text in (m.group(2), m.group(3)):
                    if text:
                        out += [".PP", esc(text)]
                in_description = False
            else:
                out += [".PP", esc(line)] if not in_description else [esc(line)]
                described = described or in_description
            continue
        indent = len(line) - len(line.lstrip(" "))
        option = re.match(r"^(-[-\w]+(?:, -[-\w]+)?(?: [A-Z][A-Z_|.]*)?)(?:\s+(.*))?$", line.strip())
        if indent <= 6 and option:
            # "  -c, --config PATH  text" or "      --long-only  text" (one space when the term
            # overflows its column)
            close_entry()
            entry = [option.group(1), [option.group(2)] if option.group(2) else []]
        elif indent <= 2:
            close_entry()
            parts = re.split(r"\s{2,}", line.strip(), maxsplit=1)
            entry = [parts[0], parts[1:]]
        elif entry is not None:
            entry[1].append(line.strip())
        else:
            out.append(esc(line.strip()))
    close_entry()
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
