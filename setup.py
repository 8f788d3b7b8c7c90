from setuptools import find_packages, setup

# Metadata lives in pyproject.toml; this file only maps the package directory.
setup(packages=find_packages(where="py"), package_dir={"": "py"})
