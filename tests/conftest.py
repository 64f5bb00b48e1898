pytest_plugins = ["pytester", "conformance.emulator.pytest_plugin", "fixtures.pytest_container"]
