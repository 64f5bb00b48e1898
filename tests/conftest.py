from hypothesis import settings

pytest_plugins = ["pytester", "conformance.emulator.pytest_plugin", "fixtures.pytest_container"]

# Property tests check what comes out, never how fast: on a busy machine one example can take
# longer than hypothesis's default deadline of 200 ms, which is not a failure of the suite.
settings.register_profile("self-tests", deadline=None)
settings.load_profile("self-tests")
