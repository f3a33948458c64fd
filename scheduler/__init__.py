"""The scheduler of `carnet run`: APScheduler jobs per source (scheduler.jobs), run by workers
(scheduler.runner) that share a store under leases (scheduler.leases)."""
