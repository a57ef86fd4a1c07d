"""Entry points: thin ``@hydra.main`` functions, each validating its config before any work and
calling one plain function that tests can call directly.

=====================  =====================  ==============================================
console script         module                 plain function
=====================  =====================  ==============================================
asktoact-generate      asktoact.cli.generate  asktoact.data.build.build
asktoact-train         asktoact.cli.train     asktoact.train.run.run_training
asktoact-evaluate      asktoact.cli.evaluate  asktoact.eval.run.run_evaluation
asktoact-chat          asktoact.cli.chat      asktoact.eval.chat.chat
asktoact-job           asktoact.cli.job       asktoact.jobs.job.run_job
asktoact-reproduce     asktoact.cli.reproduce asktoact.jobs.reproduce.reproduce
asktoact-report        asktoact.cli.report    asktoact.report.build_reports
asktoact-rl            asktoact.cli.rl        asktoact.rl.run.run_rl
=====================  =====================  ==============================================

A mistake the user can fix (:class:`asktoact.errors.UserError`: a bad setting, a missing file, a
refused key, another run's work in the folder) prints its message alone and exits with status 2;
``HYDRA_FULL_ERROR=1`` shows the traceback as well. Any other exception is a bug and keeps it.
"""

from __future__ import annotations

import functools
import os
import sys

from asktoact.errors import UserError


def user_errors(main):
    """Wrap an entry point so that a :class:`UserError` reads as a message, not a traceback."""

    @functools.wraps(main)
    def run(cfg):
        try:
            return main(cfg)
        except UserError as err:
            if os.environ.get("HYDRA_FULL_ERROR") == "1":
                raise
            print(f"error: {err}", file=sys.stderr)
            sys.exit(2)

    return run
