from setuptools import find_packages, setup

setup(
    name="adversarial-replication",
    version="0.2.0",
    description="Replications of the background class defense and Deep Neural Rejection in TensorFlow/Keras",
    packages=find_packages(include=["replication", "replication.*", "keras_models", "keras_models.*"]),
    python_requires=">=3.10",
    install_requires=[
        # TensorFlow itself comes from an extra: tensorflow-cpu (half the download) or tensorflow[and-cuda].
        "keras>=3.0",
        "tensorflow-datasets==4.9.10",
        "importlib_resources",  # tfds 4.9.x fails on first use without it
        "cleverhans==4.0.0",
        "scikit-learn>=1.3",
        "numpy",
        "matplotlib",
        "tqdm",
    ],
    extras_require={
        "cpu": ["tensorflow-cpu==2.21.0"],
        "gpu": ["tensorflow[and-cuda]==2.21.0"],
        "dev": ["pytest", "nbclient", "nbformat", "ipykernel"],
    },
    entry_points={"console_scripts": ["replication=replication.cli:main"]},
)
