"""What the figures of the studies across ranks share (averaging-mpi.py, param-server-mpi.py):
the measures they draw per point and a point's workers, ranks x threads per rank."""

MEASURES = (("final_test_accuracy", "final test accuracy"),
            ("final_test_loss", "final test loss"),
            ("wall_seconds", "training time (s)"))


def workers(row):
    """The run's workers: its ranks times its threads per rank (index.csv's columns)."""
    return int(row["ranks"]) * int(row["threads"])
