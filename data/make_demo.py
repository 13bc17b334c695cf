"""Builds the bundled demo: the Wisconsin breast-cancer diagnostic data (569 rows, 30 features; shipped with
scikit-learn, originally from the UCI repository, CC BY 4.0) split into train/test CSVs, and an XGBoost model
trained on the train split, saved as JSON together with XGBoost's own test-set probabilities.

Run with the fixtures' Python environment (see host-tests/fixtures/requirements.txt):
    python3 data/make_demo.py
"""

from pathlib import Path

import numpy as np
import xgboost as xgb
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

HERE = Path(__file__).resolve().parent


def write_csv(path, names, x, y=None):
    cols = list(names) + (["label"] if y is not None else [])
    with open(path, "w") as f:
        f.write(",".join(cols) + "\n")
        for i, row in enumerate(x):
            vals = [repr(float(np.float32(v))) for v in row]
            if y is not None:
                vals.append(str(int(y[i])))
            f.write(",".join(vals) + "\n")


def main():
    data = load_breast_cancer()
    names = [n.replace(" ", "_") for n in data.feature_names]
    x = data.data.astype(np.float32)
    y = data.target
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.3, random_state=7, stratify=y)
    write_csv(HERE / "breast_cancer_train.csv", names, x_tr, y_tr)
    write_csv(HERE / "breast_cancer_test.csv", names, x_te, y_te)
    model = xgb.XGBClassifier(n_estimators=100, max_depth=6, learning_rate=0.1, random_state=7, n_jobs=1)
    model.fit(x_tr, y_tr)
    model.get_booster().feature_names = None
    model.save_model(HERE / "breast_cancer_xgboost.json")
    proba = model.predict_proba(x_te)[:, 1].astype(np.float32)
    with open(HERE / "breast_cancer_xgboost_test_proba.csv", "w") as f:
        for p in proba:
            f.write(repr(float(p)) + "\n")
    acc = float(((proba > 0.5).astype(int) == y_te).mean())
    print(f"XGBoost {xgb.__version__}: test accuracy {acc:.4f} on {len(y_te)} rows")


if __name__ == "__main__":
    main()
