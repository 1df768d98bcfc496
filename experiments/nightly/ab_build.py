"""Builds one git revision for the nightly A/B job (experiments/nightly/ab.py) in its own git
worktree, build/ab/<sha>[-<tag>]/, with the release preset and the caller's environment (so the
same ccache settings as `make`: CMAKE_CXX_COMPILER_LAUNCHER=ccache, CCACHE_BASEDIR and CCACHE_DIR
make a baseline that was built once cost a cache lookup per source).

The release preset compiles with -g, and ccache then keys an object by the folder it was compiled
in, so a new worktree compiles afresh (observed here: a second worktree's sources missed the cache
that the first one's had just filled); what makes a repeated baseline cost nothing is the reuse
below.

Cached by commit and CMake arguments: a finished build leaves build/ab/<dir>/AB_BUILT, and a
later job with the same revision and arguments reuses it without running cmake at all. The
worktree is detached at the commit, so nothing in it moves while the job runs; remove it with
`git worktree remove build/ab/<dir>` (or `make clean` and `git worktree prune`).
"""

import hashlib
import os
import subprocess
import sys

TARGETS = ["psgd", "psgd_models_bench", "psgd_algorithms_bench"]
STAMP = "AB_BUILT"


class BuildError(Exception):
    """A revision that cannot be resolved (bad input) or built (a failed step)."""

    def __init__(self, message, bad_input=False):
        super().__init__(message)
        self.bad_input = bad_input


def resolve(root, revision):
    """The full commit id of a revision, or BuildError(bad_input) naming it."""
    done = subprocess.run(["git", "-C", root, "rev-parse", "--verify", "--quiet",
                           revision + "^{commit}"], capture_output=True, text=True)
    if done.returncode != 0 or not done.stdout.strip():
        raise BuildError("AGAINST=%s is not a commit of this repository (try a sha, a branch, "
                         "a tag or HEAD~1)" % revision, bad_input=True)
    return done.stdout.strip()


def build_dir_name(sha, cmake_args):
    """build/ab/ folder of a build: the commit, plus a short hash of any extra CMake arguments
    (a slowed build of the same commit must not reuse the plain one)."""
    if not cmake_args:
        return sha
    tag = hashlib.sha256("\0".join(cmake_args).encode()).hexdigest()[:8]
    return "%s-%s" % (sha, tag)


def log(message):
    print("ab: " + message, file=sys.stderr, flush=True)


def run(cmd, cwd):
    log("(in %s) %s" % (cwd, " ".join(cmd)))
    done = subprocess.run(cmd, cwd=cwd, stdout=sys.stderr)
    if done.returncode != 0:
        raise BuildError("failed (exit %d): %s" % (done.returncode, " ".join(cmd)))


def build(root, revision, cmake_args=(), jobs=2, targets=TARGETS):
    """The folder holding the release binaries `targets` of `revision` (built, or reused when a
    finished build has them all)."""
    sha = resolve(root, revision)
    cmake_args = list(cmake_args)
    tree = os.path.join(root, "build", "ab", build_dir_name(sha, cmake_args))
    bin_dir = os.path.join(tree, "build", "release")
    stamp = os.path.join(tree, STAMP)
    if os.path.exists(stamp) and all(os.path.exists(os.path.join(bin_dir, t)) for t in targets):
        log("reusing the build of %s in %s" % (sha[:12], os.path.relpath(tree, root)))
        return bin_dir
    if not os.path.isdir(tree):
        os.makedirs(os.path.dirname(tree), exist_ok=True)
        run(["git", "worktree", "add", "--detach", tree, sha], cwd=root)
    run(["cmake", "--preset", "release", *cmake_args], cwd=tree)
    run(["cmake", "--build", "--preset", "release", "-j", str(jobs), "--target", *targets],
        cwd=tree)
    with open(stamp, "w", encoding="utf-8") as f:
        f.write("%s %s\n" % (sha, " ".join(cmake_args)))
    return bin_dir
