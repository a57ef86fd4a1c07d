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
"""
