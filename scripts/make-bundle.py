#!/usr/bin/env python3
"""Write a data/linux-6.1 bug bundle from a screened candidate folder.

usage: scripts/make-bundle.py CANDIDATE_DIR DATASET_DIR

CANDIDATE_DIR holds repro.c, fix.patch, upstream-fix.txt, notes.md, meta.json (keys: case, title, extid,
subsystems, crashType, needed, fix{...}, provenance{...}, optional crashTitle) and screen/ from
scripts/screen-case.sh (console-buggy-N.txt, console-fixed-N.txt). Every console is titled with
`./kbench report parse --json`; the bundle is written only when every buggy run gives one title (the bug's
crashTitle, or its syzbot title) and no fixed run shows a crash. The bundle's config.fragment is the dataset's shared
DATASET_DIR/config.fragment. Exit 1 with the reason when the screening does not qualify.
"""
import json
import pathlib
import re
import shutil
import subprocess
import sys


def titles(repo: pathlib.Path, consoles: list[pathlib.Path]) -> list[str | None]:
    out = subprocess.run([str(repo / "kbench"), "report", "parse", "--json", *map(str, consoles)],
                         check=True, capture_output=True, text=True, timeout=600).stdout
    result = []
    for line in out.splitlines():
        if line.strip():
            o = json.loads(line)
            result.append(o.get("title"))
    if len(result) != len(consoles):
        raise SystemExit(f"kbench report parse printed {len(result)} lines for {len(consoles)} consoles")
    return result


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    cand, dataset = pathlib.Path(sys.argv[1]).resolve(), pathlib.Path(sys.argv[2]).resolve()
    repo = pathlib.Path(__file__).resolve().parent.parent
    meta = json.loads((cand / "meta.json").read_text())
    buggy = sorted((cand / "screen").glob("console-buggy-*.txt"))
    fixed = sorted((cand / "screen").glob("console-fixed-*.txt"))
    if not buggy or not fixed:
        print(f"{cand}: no screening consoles in screen/", file=sys.stderr)
        return 1
    bt, ft = titles(repo, buggy), titles(repo, fixed)
    # syzbot numbers a title's later occurrences ("... (2)"); the parser's title of the report has no such suffix.
    want = meta.get("crashTitle") or re.sub(r" \(\d+\)$", "", meta["title"])
    if any(t != want for t in bt) or any(t is not None for t in ft):
        print(f"{cand}: screening does not qualify: buggy {bt}, fixed {ft}, wanted {want!r}", file=sys.stderr)
        return 1
    dest = dataset / meta["case"]
    dest.mkdir(parents=True, exist_ok=True)
    for f in ("repro.c", "fix.patch", "upstream-fix.txt", "notes.md"):
        shutil.copyfile(cand / f, dest / f)
    shutil.copyfile(dataset / "config.fragment", dest / "config.fragment")
    shutil.copyfile(buggy[0], dest / "console-buggy.txt")
    shutil.copyfile(fixed[0], dest / "console-fixed.txt")
    fix = {"patch": "fix.patch", **meta["fix"]}
    bug = {
        "schema": "livekbench-bug-bundle/1",
        "title": meta["title"],
        "status": "fixed",
        "subsystems": meta["subsystems"],
        "syzbot": {
            "link": f"https://syzkaller.appspot.com/bug?extid={meta['extid']}",
            "extid": meta["extid"],
            "reportedBy": f"syzbot+{meta['extid']}@syzkaller.appspotmail.com",
        },
    }
    if want != meta["title"]:
        bug["crashTitle"] = want
    bug.update({
        "crashType": meta["crashType"],
        "kernel": {
            "source": "Debian package linux-source-6.1 (/usr/src/linux-source-6.1.tar.xz)",
            "version": "6.1.192",
            "fixedTree": "the source as shipped",
            "buggyTree": "the source with fix.patch reverse-applied (patch -R -p1)",
        },
        "config": {
            "base": "tinyconfig",
            "fragment": "config.fragment",
            "recipe": "make tinyconfig; scripts/config $(cat config.fragment); make olddefconfig (twice)",
            "needed": meta["needed"],
        },
        "reproducers": {"c": "repro.c"},
        "fix": fix,
        "observed": {
            "buggyConsole": "console-buggy.txt",
            "fixedConsole": "console-fixed.txt",
            "runs": f"buggy {len(bt)}/{len(bt)} {want}, fixed {len(ft)}/{len(ft)} no crash",
        },
        "provenance": meta["provenance"],
    })
    (dest / "bug.json").write_text(json.dumps(bug, indent=2, ensure_ascii=False) + "\n")
    print(f"{dest}: bundle written ({bug['observed']['runs']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
