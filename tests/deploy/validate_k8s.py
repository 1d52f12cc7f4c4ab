"""Validates Kubernetes manifests offline (tests/tests/deploy.rs runs it in the test venv).

    python validate_k8s.py KUBERNETES_VERSION FILE...

Every document is checked against the Kubernetes JSON schemas of KUBERNETES_VERSION that the
kubernetes-validate package ships, strictly (unknown fields are errors). Kinds those schemas
do not have (custom resources) must have a schema of their own beside this script, named
`<kind>.schema.json` in lower case (servicemonitor.schema.json): a document of any other kind
fails. Prints one line per document, `ok KIND/NAME FILE` or `error ...`, and a final JSON line
listing the documents as {"file", "kind", "name"}; exits 1 on any error.
"""

import json
import pathlib
import sys

import jsonschema
import kubernetes_validate
import yaml

HERE = pathlib.Path(__file__).resolve().parent


def main() -> int:
    version, files = sys.argv[1], sys.argv[2:]
    seen, failed = [], False
    for file in files:
        with open(file, encoding="utf-8") as f:
            docs = [d for d in yaml.safe_load_all(f) if d is not None]
        for doc in docs:
            kind = doc.get("kind", "?")
            name = (doc.get("metadata") or {}).get("name", "?")
            own = HERE / f"{kind.lower()}.schema.json"
            try:
                if own.is_file() and "." in doc.get("apiVersion", "").split("/")[0]:
                    schema = json.loads(own.read_text(encoding="utf-8"))
                    jsonschema.validate(doc, schema)
                else:
                    kubernetes_validate.validate(doc, version, strict=True)
            except Exception as e:  # every failure is reported the same way
                message = getattr(e, "message", None) or str(e)
                print(f"error {kind}/{name} {file}: {type(e).__name__}: {message}")
                failed = True
                continue
            print(f"ok {kind}/{name} {file}")
            seen.append({"file": file, "kind": kind, "name": name})
    print(json.dumps(seen))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
