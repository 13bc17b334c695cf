"""The models `benches/examples/quickscorer.rs` measures: XGBoost binary, 100 trees of depth 6 (at most 64 leaves),
LightGBM binary, 100 trees of at most 63 leaves (leaf-wise, so deeper than 6), and the same
LightGBM model capped at depth 6, trained on emkern's synthetic classification set (50
standard-normal features) with the parameters of `train_peers.py` (learning rate 0.1, L2 penalty 1, hessian
floor 1, 256 bins; LightGBM 255 bins plus its missing-value bin).

    cargo run --release -p emkern-benches --example quickscorer -- --write-data DIR
    python3 benches/peers/quickscorer_models.py DIR

writes DIR/xgboost-d6.json, DIR/lightgbm-l63.txt and DIR/lightgbm-l63-d6.txt. Needs numpy, xgboost and lightgbm.
"""

import sys
from pathlib import Path

import numpy as np

ROUNDS, ETA = 100, 0.1


def main():
    out = Path(sys.argv[1])
    x, y = np.load(out / "X_train.npy"), np.load(out / "y_train.npy")

    import xgboost as xgb

    params = dict(tree_method="hist", max_depth=6, eta=ETA, max_bin=256, nthread=2, seed=0,
                  objective="binary:logistic", min_child_weight=1.0)
    xgb.train(params, xgb.DMatrix(x, label=y), num_boost_round=ROUNDS).save_model(out / "xgboost-d6.json")

    import lightgbm as lgb

    params = dict(objective="binary", learning_rate=ETA, num_leaves=63, min_data_in_leaf=1,
                  min_sum_hessian_in_leaf=1.0, lambda_l2=1.0, max_bin=255, num_threads=2, verbose=-1,
                  deterministic=True, seed=0)
    lgb.train(params, lgb.Dataset(x, y), num_boost_round=ROUNDS).save_model(out / "lightgbm-l63.txt")
    params["max_depth"] = 6
    lgb.train(params, lgb.Dataset(x, y), num_boost_round=ROUNDS).save_model(out / "lightgbm-l63-d6.txt")
    print(f"wrote {out / 'xgboost-d6.json'}, {out / 'lightgbm-l63.txt'} and {out / 'lightgbm-l63-d6.txt'}")


if __name__ == "__main__":
    main()
