"""After `make reproduce` on a clean clone: every figure that the README or the book shows
exists, figures/MANIFEST.json matches the files (no figure missing from it, no stale entry,
every sha256 right), and `git status --porcelain` is empty (re-running changed nothing)."""
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
problems = []
shown = set()
for doc in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
    for m in re.finditer(r"(?:\]\(|src=\")((?:\.\./)*figures/[^)\"\s]+\.(?:png|pdf|svg))", doc.read_text()):
        rel = re.sub(r"^(\.\./)+", "", m.group(1))
        shown.add(rel)
        if not (ROOT / rel).exists():
            problems.append(f"{doc.relative_to(ROOT)} shows {rel}, which make reproduce did not write")
man = json.loads((ROOT / "figures" / "MANIFEST.json").read_text())["figures"]
recorded = set()
for stem, e in man.items():
    for ext, sha in e["files"].items():
        p = ROOT / "figures" / f"{stem}.{ext}"
        recorded.add(p.name)
        if not p.exists():
            problems.append(f"MANIFEST.json lists {p.name}, which does not exist")
        elif hashlib.sha256(p.read_bytes()).hexdigest() != sha:
            problems.append(f"{p.name}: sha256 differs from MANIFEST.json")
for p in sorted((ROOT / "figures").iterdir()):
    if p.suffix in (".png", ".pdf", ".svg") and p.name not in recorded:
        problems.append(f"figures/{p.name} is not made by any notebook (not in MANIFEST.json)")
status = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True,
                        check=True).stdout
if status.strip():
    problems.append("make reproduce left the checkout modified:\n" + status)
for line in problems:
    print("check_outputs:", line)
print(f"check_outputs: {len(shown)} figures shown by the README and the book, {len(man)} in the manifest, "
      f"{'OK' if not problems else f'{len(problems)} problem(s)'}")
sys.exit(1 if problems else 0)
