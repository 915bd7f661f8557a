"""Twenty bad task payloads a raw Celery client might send, with the words each error needs."""

BAD_PAYLOADS = [
    ((), {}, "spec: missing"),
    ((), {"spec": None}, "spec: must be a JSON object"),
    ((), {"spec": [1, 2]}, "spec: must be a JSON object of fields, got list"),
    ((), {"spec": "family: mlp"}, "got str"),
    (({"family": "mlp"},), {}, "positional arguments are not accepted"),
    ((), {"spec": {}, "foo": 1}, "foo: unknown payload field"),
    ((), {"spec": {}, "job_id": 42}, "job_id: must be a UUID string"),
    ((), {"spec": {}, "job_id": "not-a-uuid"}, "job_id: must be a UUID string"),
    ((), {"spec": {"bachsize": 32}}, "spec.bachsize: unknown field; did you mean batch_size"),
    ((), {"spec": {"lr": "fast"}}, "spec.lr"),
    ((), {"spec": {"lr": -1}}, "spec.lr: Input should be greater than 0"),
    ((), {"spec": {"epochs": 10**9}}, "spec.epochs: Input should be less than or equal to 1000"),
    ((), {"spec": {"batch_size": 1}}, "BatchNorm in training needs batch_size >= 2"),
    ((), {"spec": {"width": 10**7}}, "spec.width"),
    ((), {"spec": {"family": "resnet"}}, "spec.family"),
    ((), {"spec": {"device": "tpu"}}, "spec.device"),
    ((), {"spec": {"dropout_p": 1.5}}, "spec.dropout_p"),
    ((), {"spec": {"kind": "layer", "shape": [10**5, 10**5, 10**5]}}, "spec.shape"),
    ((), {"spec": {"label": "x" * 200_000}}, "over the 65536-byte limit"),
    ((), {"spec": {"channels_last": True}}, "channels_last: applies to cnn only"),
]
