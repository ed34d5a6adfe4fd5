"""Create the IAM users, roles and SSM parameters the AWS integration tests use.

moto must run with INITIAL_NO_AUTH_ACTION_COUNT=3: the first three actions
below (create the admin user, give it a policy, create its key) are the only
unauthenticated ones. Everything after them is signed with the admin key, and
moto checks every signature from then on.

Writes a JSON fixture with the keys, role ARNs and expected values to the
path given as the second argument. The fixture contains test-only secrets.
"""

import json
import sys

import boto3

ACCOUNT = "123456789012"
REGION = "us-east-1"

ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
ALLOW_SSM_READ = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["ssm:GetParameter", "ssm:GetParameters",
                                                 "ssm:GetParametersByPath"], "Resource": "*"}],
}
ALLOW_ASSUME = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}
ALLOW_STS_ONLY = {"Version": "2012-10-17",
                  "Statement": [{"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}]}


def trust(principal_arn, external_id=None):
    statement = {"Effect": "Allow", "Principal": {"AWS": principal_arn}, "Action": "sts:AssumeRole"}
    if external_id:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def web_identity_trust():
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.test"},
                       "Action": "sts:AssumeRoleWithWebIdentity"}],
    })


def client(service, endpoint, key=None):
    kwargs = {"region_name": REGION, "endpoint_url": endpoint}
    if key:
        kwargs["aws_access_key_id"] = key["AccessKeyId"]
        kwargs["aws_secret_access_key"] = key["SecretAccessKey"]
    else:
        kwargs["aws_access_key_id"] = "AKIASETUPSETUPSETUP0"
        kwargs["aws_secret_access_key"] = "setup-unauthenticated"
    return boto3.client(service, **kwargs)


def make_user(iam, name, policy):
    iam.create_user(UserName=name)
    if policy:
        iam.put_user_policy(UserName=name, PolicyName=f"{name}-policy", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    arn = f"arn:aws:iam::{ACCOUNT}:user/{name}"
    return {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"], "Arn": arn}


def make_role(iam, name, trust_document, policy):
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_document)["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName=f"{name}-policy", PolicyDocument=json.dumps(policy))
    return arn


def main():
    endpoint, fixture_path = sys.argv[1], sys.argv[2]

    # The three unauthenticated actions.
    bootstrap = client("iam", endpoint)
    bootstrap.create_user(UserName="admin")
    bootstrap.put_user_policy(UserName="admin", PolicyName="admin-all", PolicyDocument=json.dumps(ALLOW_ALL))
    admin = bootstrap.create_access_key(UserName="admin")["AccessKey"]

    iam = client("iam", endpoint, admin)
    ssm = client("ssm", endpoint, admin)

    reader = make_user(iam, "reader", ALLOW_SSM_READ)
    chainer = make_user(iam, "chainer", ALLOW_ASSUME)
    denied = make_user(iam, "denied", ALLOW_STS_ONLY)

    # Chain: chainer -> hop (additional role) -> final (reads SSM, needs ExternalId).
    hop_arn = make_role(iam, "ig-hop", trust(chainer["Arn"]), ALLOW_ASSUME)
    final_arn = make_role(iam, "ig-final", trust(f"arn:aws:sts::{ACCOUNT}:assumed-role/ig-hop/ig-chain-test",
                                                 external_id="ig-external-42"), ALLOW_SSM_READ)
    direct_arn = make_role(iam, "ig-direct", trust(chainer["Arn"]), ALLOW_SSM_READ)
    web_arn = make_role(iam, "ig-web", web_identity_trust(), ALLOW_ASSUME)
    web_final_arn = make_role(iam, "ig-web-final",
                              trust(f"arn:aws:sts::{ACCOUNT}:assumed-role/ig-web/ig-chain-test"), ALLOW_SSM_READ)

    values = {}

    def put(name, value, kind="String", overwrite=False):
        ssm.put_parameter(Name=name, Value=value, Type=kind, Overwrite=overwrite)

    values["/ig/app/plain"] = "plain-value-7f3a91"
    put("/ig/app/plain", values["/ig/app/plain"])
    values["/ig/app/secret"] = "secure-value-c0ffee-9d2b"
    put("/ig/app/secret", values["/ig/app/secret"], "SecureString")
    values["/ig/app/list"] = "alpha,beta,gamma"
    put("/ig/app/list", values["/ig/app/list"], "StringList")

    versions = ["version-one-11aa", "version-two-22bb", "version-three-33cc"]
    for i, value in enumerate(versions):
        put("/ig/app/versioned", value, "SecureString", overwrite=i > 0)
    ssm.label_parameter_version(Name="/ig/app/versioned", ParameterVersion=2, Labels=["prod"])

    batch = []
    for i in range(20):
        name = f"/ig/batch/p{i:02d}"
        values[name] = f"batch-value-{i:02d}-5e6f"
        put(name, values[name], "SecureString" if i % 2 else "String")
        batch.append(name)

    tree = []
    for i in range(14):
        name = f"/ig/tree/leaf{i:02d}"
        values[name] = f"tree-value-{i:02d}-8c7d"
        put(name, values[name])
        tree.append(name)
    for i in range(9):
        name = f"/ig/tree/sub/deep{i:02d}"
        values[name] = f"deep-value-{i:02d}-4b3a"
        put(name, values[name], "SecureString")
        tree.append(name)

    fixture = {
        "region": REGION,
        "account": ACCOUNT,
        "admin": admin["AccessKeyId"],
        "reader": reader,
        "chainer": chainer,
        "denied": denied,
        "roles": {"hop": hop_arn, "final": final_arn, "direct": direct_arn, "web": web_arn,
                  "web_final": web_final_arn},
        "external_id": "ig-external-42",
        "session_name": "ig-chain-test",
        "values": values,
        "versions": versions,
        "batch": batch,
        "tree": tree,
    }
    with open(fixture_path, "w", encoding="utf-8") as f:
        json.dump(fixture, f, indent=1)


if __name__ == "__main__":
    main()
