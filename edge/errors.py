"""Errors a user can act on. The CLI prints them as one line and exits with `exit_code`."""


class HipflexError(Exception):
    """A problem with the input, the config or the environment, not a bug."""

    exit_code = 1


class ModelError(HipflexError):
    """A model file is missing, truncated or does not match its sha256."""

    exit_code = 2


class SourceError(HipflexError):
    """A frame source cannot be opened or stopped delivering frames."""


class CameraError(SourceError):
    """The Pi camera cannot be opened: picamera2 does not import, or the camera does not start.
    Restarting does not fix that, so the systemd unit does not restart on this exit code."""

    exit_code = 69  # sysexits' EX_UNAVAILABLE; in the unit's RestartPreventExitStatus


class ConfigError(HipflexError):
    """The configuration is invalid. `errors` holds one line per problem."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("; ".join(errors))
