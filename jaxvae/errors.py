"""The project's own exception types: each carries a one-line message meant for a person."""


class JaxvaeError(Exception):
    """Base class: the CLI prints these as one line instead of a traceback."""


class DataError(JaxvaeError, ValueError):
    """A data file is missing, malformed or inconsistent; the message names the file."""


class DataUnavailableError(JaxvaeError):
    """No source could provide the requested dataset; the message lists every way to provide it."""


class ConfigError(JaxvaeError, ValueError):
    """An invalid training or demo configuration, rejected before any work starts."""


class CheckpointError(JaxvaeError):
    """A checkpoint is missing, corrupt, or was written for a different configuration."""


class TrainingError(JaxvaeError):
    """Training cannot continue (for example the loss became non-finite)."""


class WriteError(JaxvaeError):
    """A file could not be written (a full disk, no permission); the message names it and what of
    the run is still intact."""


class FolderInUseError(JaxvaeError):
    """Another process is writing the same run folder; the message names the folder and the process."""
