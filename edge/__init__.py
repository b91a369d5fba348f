"""HipFlex Edge: an on-device coach for miniband supine hip flexion."""

__version__ = "0.1.0"
