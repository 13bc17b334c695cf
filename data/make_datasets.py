"""Builds the small bundled training datasets: Iris and Wine (classification) and Diabetes (regression), each split
into train/test CSVs with a fixed seed, so that `emkern train` and the training tests have real data to learn.

Sources (all shipped with scikit-learn, read from its package, no download):
- Iris: R. A. Fisher (1936), UCI Machine Learning Repository, CC BY 4.0. 150 rows, 4 features, 3 species.
- Wine: M. Forina et al., UCI Machine Learning Repository, CC BY 4.0. 178 rows, 13 features, 3 cultivars.
- Diabetes: B. Efron, T. Hastie, I. Johnstone, R. Tibshirani, "Least Angle Regression", Annals of Statistics
  (2004), as distributed with scikit-learn (BSD-3-Clause). 442 rows, 10 features (unscaled: age, sex, BMI, ...),
  target = disease progression one year after baseline (an integer).

CSV conventions: a header row; feature values are float32 written as the shortest decimal that reads back as the
same float32; the class label (`label`) or the regression target (`target`) is the last column. Iris labels are
the species names (exercising string labels); Wine labels are the integers 0..2.

Splits: 70/30, `train_test_split(..., random_state=7)`, stratified for the classification sets.

Run with the fixtures' Python environment (see host-tests/fixtures/requirements.txt):
    python3 data/make_datasets.py
"""

from pathlib import Path

import numpy as np
from sklearn.datasets import load_diabetes, load_iris, load_wine
from sklearn.model_selection import train_test_split

HERE = Path(__file__).resolve().parent
SEED = 7


def f32(v) -> str:
    """The shortest decimal that parses back to the same float32."""
    return np.format_float_positional(np.float32(v), unique=True, trim="-")


def write_csv(path: Path, names, x, y, target_name: str, label_text) -> None:
    with open(path, "w") as f:
        f.write(",".join(list(names) + [target_name]) + "\n")
        for row, label in zip(x, y):
            f.write(",".join([f32(v) for v in row] + [label_text(label)]) + "\n")


def split_and_write(stem: str, names, x, y, target_name: str, label_text, stratify: bool) -> None:
    x = np.asarray(x, dtype=np.float32)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=0.3, random_state=SEED, stratify=y if stratify else None
    )
    write_csv(HERE / f"{stem}_train.csv", names, x_tr, y_tr, target_name, label_text)
    write_csv(HERE / f"{stem}_test.csv", names, x_te, y_te, target_name, label_text)
    print(f"{stem}: {len(y_tr)} train rows, {len(y_te)} test rows, {x.shape[1]} features")


def clean(name: str) -> str:
    return name.replace(" (cm)", "").replace(" ", "_").replace("/", "_")


def main() -> None:
    iris = load_iris()
    species = np.asarray(iris.target_names)[iris.target]
    split_and_write("iris", [clean(n) for n in iris.feature_names], iris.data, species, "label", str, True)

    wine = load_wine()
    split_and_write("wine", [clean(n) for n in wine.feature_names], wine.data, wine.target, "label",
                    lambda v: str(int(v)), True)

    diabetes = load_diabetes(scaled=False)
    split_and_write("diabetes", [clean(n) for n in diabetes.feature_names], diabetes.data, diabetes.target,
                    "target", lambda v: str(int(v)), False)


if __name__ == "__main__":
    main()
