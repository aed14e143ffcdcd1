"""Recorded runs: the store on disk, the recorder that fills it, comparisons, and the one
filter language and sort order that ``nnfs-train runs`` and the Runs screen share.

    store     RunStore, RunInfo, score(), reading run.json / metrics.csv, CSV export
    recorder  RunRecorder: writes a run's files while it trains
    compare   ConfigDiff, diff_configs
    query     parse_filter / RunFilter / matches, sort_runs
"""

from engine.config import architecture
from engine.events import LiveChange
from engine.runs.compare import ConfigDiff, diff_configs
from engine.runs.query import (
    RunFilter,
    Term,
    default_descending,
    matches,
    parse_filter,
    resolve_column,
    sort_runs,
)
from engine.runs.recorder import RunRecorder
from engine.runs.store import (
    METRIC_COLUMNS,
    TABLE_COLUMNS,
    RunInfo,
    RunStore,
    RunStoreError,
    check_run_name,
    default_runs_dir,
    read_metrics,
    score,
)

__all__ = [
    "METRIC_COLUMNS", "TABLE_COLUMNS", "ConfigDiff", "LiveChange", "RunFilter", "RunInfo",
    "RunRecorder", "RunStore", "RunStoreError", "Term", "architecture", "check_run_name",
    "default_descending", "default_runs_dir", "diff_configs", "matches",
    "parse_filter", "read_metrics", "resolve_column", "score", "sort_runs",
]
