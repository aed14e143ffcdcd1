"""nnfs-tui's terminal app: train the engine's NumPy MLPs from a keyboard, over SSH.

    from nnfs_tui.app import create_app
    create_app().run()
"""

__all__ = ["create_app"]


def __getattr__(name: str):  # noqa: ANN202 - lazy, so `import nnfs_tui` stays cheap
    if name == "create_app":
        from nnfs_tui.app import create_app

        return create_app
    raise AttributeError(name)
