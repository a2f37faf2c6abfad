"""Command line: ``python -m flatlib COMMAND [...]`` (also installed as ``flatlib``).

Commands: ``reproduce`` (execute the notebooks, write the figures), ``build`` (notebook from
its jupytext source, then execute it in place), ``verify`` (re-execute and compare the figures
with ``figures/MANIFEST.json``), ``lab`` (JupyterLab on the notebooks).
``python -m flatlib COMMAND --help`` documents each one.
"""
import os
import sys

USAGE = """\
usage: python -m flatlib COMMAND [ARGS...]

commands:
  reproduce [NAME...] [-j N] [-p NAME=VALUE ...] [--inplace]
              execute the notebooks headlessly (papermill) and write figures/
  build [NAME...] [--no-execute]
              update notebooks/NAME.ipynb from notebooks/src/NAME.py (jupytext), execute in place
  verify [NAME...]
              re-execute the notebooks that made the figures (figures/MANIFEST.json) and compare
  lab [JUPYTERLAB ARGS...]
              open JupyterLab on notebooks/ (adds --allow-root when run as root)

'python -m flatlib COMMAND --help' documents the options of each command, with examples.
"""


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, end="")
        return 0
    cmd, rest = argv[0], argv[1:]
    if cmd == "reproduce":
        from .reproduce import main as reproduce_main
        return reproduce_main(rest)
    if cmd == "build":
        from .reproduce import build_main
        return build_main(rest)
    if cmd == "verify":
        from .provenance import verify_main
        return verify_main(rest)
    if cmd == "lab":
        if rest and rest[0] in ("-h", "--help"):
            from .reproduce import lab_command

            print("usage: python -m flatlib lab [JUPYTERLAB ARGS...]\n\nruns: "
                  + " ".join(lab_command(["ARGS..."])) + "\n(see 'jupyter lab --help-all')")
            return 0
        from .reproduce import lab_command

        cmd_line = lab_command(rest)
        sys.stdout.flush()
        os.execv(cmd_line[0], cmd_line)
    print(f"python -m flatlib: unknown command {cmd!r}\n\n{USAGE}", file=sys.stderr, end="")
    return 2


if __name__ == "__main__":
    sys.exit(main())
