#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Test 50: the Kubernetes manifests in deploy/kubernetes hold together.

Static checks on the parsed YAML (labels and selectors, serviceName, ports
of Services, containers and probes, volumes and their sources), then a run
of the pod's own scripts against a copy of the container's file tree built
from the manifest's volumes: entrypoint.sh renders tern.conf (checked with
Tern's real config parser through a small helper linked with libcommon.a,
and against the key table of common/conf_keys.c) and installs the keys made
by the real `ternctl keys create`; prestop.sh is run for a pod that stays
and for one that is scaled away, and the ternctl command it runs is parsed
by the real ternctl.  Finally every check is shown to fail on purpose:
each mutation of a copy of the manifests must be caught.

usage: t50_k8s.py --srcdir DIR --work DIR [--ternctl BIN] [--helper BIN]
"""
import argparse
import os
import re
import shutil
import stat
import subprocess
import sys

import yaml

POD_NAMESPACE = "ns-test"
CLUSTER_DOMAIN = "cluster.local"


class Ctx:
    """What the checks need besides the manifests."""

    def __init__(self, args):
        self.srcdir = os.path.abspath(args.srcdir)
        self.work = os.path.abspath(args.work)
        self.ternctl = args.ternctl
        self.helper = args.helper
        self.kubectl = shutil.which("kubectl")
        self.shellcheck = shutil.which("shellcheck")
        self.notes = []
        src = self.srcdir
        with open(os.path.join(src, "common/conf_keys.c")) as f:
            text = f.read()
        self.keys = set(re.findall(r'\{\s*"([a-z0-9_.]+)",\s*CONF_T_', text))
        with open(os.path.join(src, "common/conf.c")) as f:
            text = f.read()
        m = re.search(r"listener_kinds\[\]\s*=\s*\{([^}]*)\}", text)
        self.kinds = re.findall(r'"([a-z]+)"', m.group(1)) if m else []
        with open(os.path.join(src, "common/conf.h")) as f:
            m = re.search(r'#define\s+CONF_DEFAULT_PATH\s+"([^"]+)"',
                          f.read())
        self.default_conf = m.group(1) if m else "/etc/tern/tern.conf"
        with open(os.path.join(src, "ternctl/keys.c")) as f:
            self.key_files = sorted(set(re.findall(r'"%s/([a-z.]+)"',
                                                   f.read())))
        if not self.keys or not self.kinds or not self.key_files:
            raise SystemExit("cannot read the key table, listener kinds "
                             "or key file names from the sources")
        self.secrets = self.make_secrets()

    def make_secrets(self):
        """Contents of the Secrets the docs tell the operator to create."""
        keys = {}
        kdir = os.path.join(self.work, "keys")
        if self.ternctl:
            if not os.path.isdir(kdir):
                r = run([self.ternctl, "keys", "create", kdir])
                if r.returncode != 0:
                    raise SystemExit("ternctl keys create: " + r.stdout)
            for name in os.listdir(kdir):
                with open(os.path.join(kdir, name)) as f:
                    keys[name] = f.read()
            if sorted(keys) != self.key_files:
                raise SystemExit("ternctl keys create made %s, keys.c "
                                 "names %s" % (sorted(keys), self.key_files))
        else:
            self.notes.append("no ternctl: fake key files")
            for name in self.key_files:
                keys[name] = "x" * 40 + "\n"
        users = {"passwd": "alice:$7$101$c2FsdA==$aGFzaA==\n"}
        return {"tern-keys": keys, "tern-users": users}


def run(argv, env=None, timeout=60):
    return subprocess.run(argv, env=env, timeout=timeout,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True)


def under(path, mount):
    """path is mount or below it."""
    mount = mount.rstrip("/")
    return path == mount or path.startswith(mount + "/")


def script_const(text, name):
    """The value of `name=VALUE` (or name=${X:-VALUE}) in a shell script."""
    m = re.search(r"^%s=(?:\$\{[A-Z_]+:-)?([^}\s]+)\}?" % re.escape(name),
                  text, re.M)
    return m.group(1) if m else None


class Manifests:
    """The objects a kustomization lists, generated ConfigMaps included."""

    def __init__(self, mdir, err):
        self.dir = mdir
        self.objs = []
        self.generated = {}
        kpath = os.path.join(mdir, "kustomization.yaml")
        try:
            with open(kpath) as f:
                kust = yaml.safe_load(f)
        except (OSError, yaml.YAMLError) as e:
            err("kustomization.yaml: %s" % e)
            return
        resources = kust.get("resources") or []
        for name in sorted(os.listdir(mdir)):
            if not name.endswith((".yaml", ".yml")):
                continue
            if name != "kustomization.yaml" and name not in resources:
                err("%s is not listed in kustomization.yaml resources"
                    % name)
        for res in resources:
            path = os.path.join(mdir, res)
            try:
                with open(path) as f:
                    docs = [d for d in yaml.safe_load_all(f) if d]
            except (OSError, yaml.YAMLError) as e:
                err("%s: %s" % (res, e))
                continue
            for d in docs:
                if not isinstance(d, dict) or "kind" not in d or \
                        "metadata" not in d:
                    err("%s: not a Kubernetes object" % res)
                    continue
                if "namespace" in d["metadata"]:
                    err("%s: %s sets a namespace (the manifests are "
                        "namespace-agnostic)" % (res, d["kind"]))
                d["_file"] = res
                self.objs.append(d)
        for gen in kust.get("configMapGenerator") or []:
            data = {}
            for spec in gen.get("files") or []:
                key, _, path = spec.partition("=")
                if not path:
                    key, path = os.path.basename(spec), spec
                try:
                    with open(os.path.join(mdir, path)) as f:
                        data[key] = f.read()
                except OSError as e:
                    err("configMapGenerator %s: %s" % (gen.get("name"), e))
            for lit in gen.get("literals") or []:
                k, _, v = lit.partition("=")
                data[k] = v
            self.objs.append({"kind": "ConfigMap", "metadata":
                              {"name": gen.get("name")}, "data": data,
                              "_file": "configMapGenerator"})

    def of_kind(self, kind):
        return [o for o in self.objs if o.get("kind") == kind]

    def get(self, kind, name):
        for o in self.of_kind(kind):
            if o["metadata"].get("name") == name:
                return o
        return None


def matches(selector, labels):
    return bool(selector) and all(labels.get(k) == v
                                  for k, v in selector.items())


def check(mdir, ctx, tag):
    """Every check on the manifests in mdir; returns the list of errors."""
    errors = []
    err = errors.append
    man = Manifests(mdir, err)
    stss = man.of_kind("StatefulSet")
    if len(stss) != 1:
        err("want exactly one StatefulSet, found %d" % len(stss))
        return errors
    sts = stss[0]
    spec = sts["spec"]
    pod = spec["template"]
    labels = pod["metadata"].get("labels") or {}
    podspec = pod["spec"]
    name = sts["metadata"]["name"]

    # Labels and selectors.
    if not matches(spec["selector"].get("matchLabels"), labels):
        err("StatefulSet selector %s does not select its pod labels %s"
            % (spec["selector"].get("matchLabels"), labels))
    for svc in man.of_kind("Service"):
        if not matches(svc["spec"].get("selector"), labels):
            err("Service %s: selector %s does not select the pods %s"
                % (svc["metadata"]["name"], svc["spec"].get("selector"),
                   labels))
    pdbs = man.of_kind("PodDisruptionBudget")
    if len(pdbs) != 1:
        err("want one PodDisruptionBudget, found %d" % len(pdbs))
    for pdb in pdbs:
        if not matches(pdb["spec"].get("selector", {}).get("matchLabels"),
                       labels):
            err("PodDisruptionBudget selector does not select the pods")
        if pdb["spec"].get("maxUnavailable") != 1:
            err("PodDisruptionBudget: maxUnavailable is not 1")
    for kind in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding",
                 "ServiceAccount"):
        if man.of_kind(kind):
            err("a %s: discovery must need no API rights" % kind)
    if podspec.get("automountServiceAccountToken") is not False:
        err("automountServiceAccountToken is not false")
    psc = podspec.get("securityContext") or {}
    if psc.get("runAsNonRoot") is not True or not psc.get("fsGroup"):
        err("pod securityContext: want runAsNonRoot and fsGroup")

    # The headless service and the StatefulSet's shape.
    headless = man.get("Service", spec.get("serviceName"))
    if headless is None:
        err("serviceName %s: no such Service" % spec.get("serviceName"))
    else:
        if headless["spec"].get("clusterIP") != "None":
            err("Service %s (serviceName) is not headless (clusterIP: None)"
                % spec["serviceName"])
        if headless["spec"].get("publishNotReadyAddresses") is not True:
            err("Service %s: publishNotReadyAddresses is not true (pods "
                "waiting to join could not be found)" % spec["serviceName"])
    if spec.get("podManagementPolicy") != "Parallel":
        err("podManagementPolicy is not Parallel")
    replicas = spec.get("replicas", 1)
    if not isinstance(replicas, int) or replicas < 3:
        err("replicas %r: want at least 3" % replicas)
    if not spec.get("volumeClaimTemplates"):
        err("no volumeClaimTemplates (data_dir would not survive)")
    if len(podspec.get("containers") or []) != 1:
        err("want one container")
        return errors
    ctr = podspec["containers"][0]

    # Ports: Services, container and probes.
    cports = {}
    for p in ctr.get("ports") or []:
        cports[p.get("name")] = p["containerPort"]
    numbers = set(cports.values())

    def resolve(port):
        if isinstance(port, int):
            return port if port in numbers else None
        return cports.get(port)

    for svc in man.of_kind("Service"):
        for p in svc["spec"].get("ports") or []:
            t = p.get("targetPort", p.get("port"))
            if resolve(t) is None:
                err("Service %s port %s: targetPort %s is no container port"
                    % (svc["metadata"]["name"], p.get("name"), t))
            elif resolve(t) != p.get("port"):
                err("Service %s port %s: port %s but targetPort %s is %s"
                    % (svc["metadata"]["name"], p.get("name"), p.get("port"),
                       t, resolve(t)))
    if headless is not None:
        names = {p.get("name") for p in headless["spec"].get("ports") or []}
        for want in ("mqtt", "cluster", "http"):
            if want not in names:
                err("headless Service has no %s port" % want)
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        pr = ctr.get(probe)
        if pr is None:
            if probe != "startupProbe":
                err("no %s" % probe)
            continue
        get = pr.get("httpGet") or {}
        if get.get("path") != "/health":
            err("%s: path %s, want /health" % (probe, get.get("path")))
        if resolve(get.get("port")) is None or \
                resolve(get.get("port")) != cports.get("http"):
            err("%s: port %s is not the container's http port %s"
                % (probe, get.get("port"), cports.get("http")))

    # Volumes, and the container's file tree they make.
    vols = {v["name"]: v for v in podspec.get("volumes") or []}
    claims = {c["metadata"]["name"] for c in
              spec.get("volumeClaimTemplates") or []}
    mounts = []
    for vm in ctr.get("volumeMounts") or []:
        v = vols.get(vm["name"])
        if v is None and vm["name"] not in claims:
            err("volumeMount %s: no such volume or claim" % vm["name"])
            continue
        kind = "claim" if v is None else \
            ("emptyDir" if "emptyDir" in v else "source")
        mounts.append((vm["mountPath"], kind, vm, v))

    def mount_of(path):
        best = None
        for m in mounts:
            if under(path, m[0]) and (best is None or
                                      len(m[0]) > len(best[0])):
                best = m
        return best

    def build_root(root):
        """Files the pod sees, under root."""
        for path, kind, vm, v in mounts:
            d = root + path
            os.makedirs(d, exist_ok=True)
            if kind != "source":
                continue
            sources = []
            if "projected" in v:
                sources = v["projected"].get("sources") or []
            elif "configMap" in v:
                sources = [{"configMap": v["configMap"]}]
            elif "secret" in v:
                s = dict(v["secret"])
                s["name"] = s.pop("secretName", None)
                sources = [{"secret": s}]
            if not vm.get("readOnly"):
                err("volumeMount %s of a ConfigMap/Secret is not readOnly"
                    % vm["name"])
            for src in sources:
                if "configMap" in src:
                    cm = man.get("ConfigMap", src["configMap"].get("name"))
                    if cm is None:
                        err("volume %s: no ConfigMap %s" % (
                            vm["name"], src["configMap"].get("name")))
                        continue
                    data, what = cm.get("data") or {}, "ConfigMap"
                    sname = src["configMap"]["name"]
                    items = src["configMap"].get("items")
                elif "secret" in src:
                    sname = src["secret"].get("name")
                    data = ctx.secrets.get(sname)
                    what = "Secret"
                    if data is None:
                        err("volume %s: Secret %s is not one the docs "
                            "create (%s)" % (vm["name"], sname,
                                             ", ".join(ctx.secrets)))
                        continue
                    items = src["secret"].get("items")
                else:
                    continue
                if items is None:
                    items = [{"key": k, "path": k} for k in data]
                for it in items:
                    if it["key"] not in data:
                        err("%s %s has no key %s (it holds %s)" % (
                            what, sname, it["key"], ", ".join(sorted(data))))
                        continue
                    f = os.path.join(d, it["path"])
                    os.makedirs(os.path.dirname(f), exist_ok=True)
                    with open(f, "w") as out:
                        out.write(data[it["key"]])

    # The commands: entrypoint and preStop scripts from the ConfigMap.
    cmd = ctr.get("command") or []
    pre = (((ctr.get("lifecycle") or {}).get("preStop") or {})
           .get("exec") or {}).get("command") or []
    if len(cmd) != 2 or cmd[0] != "/bin/sh":
        err("container command %s: want [/bin/sh, entrypoint.sh]" % cmd)
        return errors
    if len(pre) != 2 or pre[0] != "/bin/sh":
        err("preStop command %s: want [/bin/sh, prestop.sh]" % pre)
        return errors
    ostart = (spec.get("ordinals") or {}).get("start", 0)
    env_ostart = None
    for e in ctr.get("env") or []:
        if e["name"] == "TERN_ORDINAL_START":
            env_ostart = e.get("value")
        if e["name"] == "TERN_HEADLESS_SERVICE" and \
                e.get("value") != spec.get("serviceName"):
            err("TERN_HEADLESS_SERVICE %s is not serviceName %s"
                % (e.get("value"), spec.get("serviceName")))
    if env_ostart is not None and str(env_ostart) != str(ostart):
        err("TERN_ORDINAL_START %s is not the StatefulSet's first ordinal "
            "%s" % (env_ostart, ostart))

    def pod_env(ordinal, root):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
               "TERN_ROOT": root, "TERNCTL": shim,
               "SHIM_DIR": root + ".shim", "SHIM_REAL": ctx.ternctl or "",
               "SHIM_CONF": root + ".conf", "TERN_LOG": root + ".log",
               "TERN_LEAVE_BUDGET": "6"}
        for e in ctr.get("env") or []:
            if "value" in e:
                env[e["name"]] = str(e["value"])
                continue
            path = ((e.get("valueFrom") or {}).get("fieldRef") or {}) \
                .get("fieldPath")
            if path == "metadata.name":
                env[e["name"]] = "%s-%d" % (name, ordinal)
            elif path == "metadata.namespace":
                env[e["name"]] = POD_NAMESPACE
        env.setdefault("TERN_CLUSTER_DOMAIN", CLUSTER_DOMAIN)
        os.makedirs(env["SHIM_DIR"], exist_ok=True)
        return env

    shim = os.path.join(ctx.work, "ternctl-shim")
    pod_host = "%s-%%d.%s.%s.svc.%s" % (name, spec.get("serviceName"),
                                         POD_NAMESPACE, CLUSTER_DOMAIN)

    def start_pod(ordinal):
        """Runs the entrypoint of pod `ordinal`; its conf, or None."""
        root = os.path.join(ctx.work, "%s-%s-%d" % (tag, name, ordinal))
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(root + ".shim", ignore_errors=True)
        build_root(root)
        if not os.path.isfile(root + cmd[1]):
            err("entrypoint %s is not in the pod's file tree" % cmd[1])
            return None
        env = pod_env(ordinal, root)
        r = run(["/bin/sh", root + cmd[1]], env=env)
        if r.returncode != 0:
            err("entrypoint of pod %d failed: %s" % (ordinal,
                                                    r.stdout.strip()))
            return None
        calls = shim_calls(env["SHIM_DIR"])
        conf = root + ctx.default_conf
        if calls != [["run", "-c", conf]]:
            err("entrypoint ran %s, want ternctl run -c %s" % (
                calls, ctx.default_conf))
            return None
        return root, conf, env

    if ctx.shellcheck:
        for path in (cmd[1], pre[1]):
            cm = [o for o in man.of_kind("ConfigMap")
                  if os.path.basename(path) in (o.get("data") or {})]
            if not cm:
                continue
            f = os.path.join(ctx.work, "%s-%s" % (tag,
                                                  os.path.basename(path)))
            with open(f, "w") as out:
                out.write(cm[0]["data"][os.path.basename(path)])
            r = run([ctx.shellcheck, "-s", "sh", "-S", "warning", f])
            if r.returncode != 0:
                err("shellcheck %s:\n%s" % (path, r.stdout))

    started = start_pod(ostart + 1)
    if started is None:
        return errors
    root, conf, env = started
    with open(conf) as f:
        text = f.read()
    settings = {}
    for n, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        key, eq, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not eq:
            err("tern.conf:%d: not key = value" % n)
            continue
        parts = key.split(".")
        if key not in ctx.keys and not (len(parts) == 3 and
                                        parts[0] == "listener" and
                                        parts[1] in ctx.kinds):
            err("tern.conf:%d: unknown key %s (not in common/conf_keys.c)"
                % (n, key))
        settings[key] = value
    if ctx.helper:
        r = run([ctx.helper, conf])
        if r.returncode != 0:
            err("Tern's config parser refuses the rendered tern.conf: %s"
                % r.stdout.strip())
            return errors
        parsed = dict(l.split("=", 1) for l in r.stdout.splitlines()
                      if "=" in l)
    else:
        parsed = settings
    host = pod_host % (ostart + 1)

    def hostport(key):
        v = parsed.get(key, "")
        h, _, p = v.rpartition(":")
        return h, int(p) if p.isdigit() else None

    for key, port in (("listener.tcp.default", "mqtt"),
                      ("listener.http.default", "http"),
                      ("cluster.listen", "cluster")):
        h, p = hostport(key)
        if p != cports.get(port):
            err("%s port %s is not the container port %s (%s)" % (
                key, p, port, cports.get(port)))
        if h not in ("", "0.0.0.0", "*"):
            err("%s listens on %s only: probes and peers come to the pod "
                "IP" % (key, h))
    if parsed.get("nodename") != "tern@" + host:
        err("nodename %s, want tern@%s" % (parsed.get("nodename"), host))
    if hostport("cluster.advertise") != (host, cports.get("cluster")):
        err("cluster.advertise %s, want %s:%s" % (
            parsed.get("cluster.advertise"), host, cports.get("cluster")))
    if parsed.get("discovery") != "k8s":
        err("discovery is %s, not k8s" % parsed.get("discovery"))
    seed = "tern@" + pod_host % ostart
    if parsed.get("discovery.k8s.seed_node", seed) != seed:
        err("discovery.k8s.seed_node %s, want %s" % (
            parsed.get("discovery.k8s.seed_node"), seed))
    if str(parsed.get("discovery.k8s.ordinal_start", "0")) != str(ostart):
        err("discovery.k8s.ordinal_start %s, want %s" % (
            parsed.get("discovery.k8s.ordinal_start"), ostart))
    for key, kinds in (("data_dir", ("claim",)),
                       ("run_dir", ("emptyDir",)),
                       ("cluster.key_dir", ("emptyDir",))):
        m = mount_of(parsed.get(key, ""))
        if m is None or m[1] not in kinds:
            err("%s %s is not on a %s volume" % (key, parsed.get(key),
                                                  "/".join(kinds)))
    m = mount_of(ctx.default_conf)
    if m is None or m[1] != "emptyDir":
        err("%s is not on an emptyDir (the entrypoint writes it)"
            % ctx.default_conf)
    pw = parsed.get("password_file")
    if pw and not os.path.isfile(root + pw):
        err("password_file %s is not in the pod's file tree" % pw)
    kdir = root + parsed.get("cluster.key_dir", "/etc/tern/keys")
    for kf in ctx.key_files:
        f = os.path.join(kdir, kf)
        if not os.path.isfile(f):
            err("no %s in cluster.key_dir after the entrypoint" % kf)
            continue
        with open(f) as fh:
            if fh.read() != ctx.secrets["tern-keys"][kf]:
                err("%s differs from the Secret's" % kf)
        if kf.endswith(".key") and stat.S_IMODE(os.stat(f).st_mode) != 0o600:
            err("%s has mode %o, want 0600" % (kf, os.stat(f).st_mode))

    # The seed pod names itself as the seed.
    started = start_pod(ostart)
    if started is not None:
        with open(started[1]) as f:
            seedconf = f.read()
        if "nodename = %s\n" % seed not in seedconf:
            err("the seed pod's nodename is not %s" % seed)

    # preStop: a pod that stays stops without leaving; one scaled away
    # leaves, with a command the real ternctl parses.
    scale = man.get("ConfigMap", "tern-scale")
    prestop_text = None
    for o in man.of_kind("ConfigMap"):
        prestop_text = (o.get("data") or {}).get(os.path.basename(pre[1]),
                                                  prestop_text)
    rfile = script_const(prestop_text or "", "replicas_file")
    budget = script_const(prestop_text or "", "budget")
    if scale is None or str((scale.get("data") or {}).get("replicas")) != \
            str(replicas):
        err("ConfigMap tern-scale replicas is not the StatefulSet's %s"
            % replicas)
    if rfile is None or not os.path.isfile(root + rfile):
        err("prestop.sh reads %s: not in the pod's file tree" % rfile)
    if budget is None or not budget.isdigit() or \
            podspec.get("terminationGracePeriodSeconds", 30) < \
            int(budget) + 15:
        err("terminationGracePeriodSeconds %s is not above prestop's "
            "budget %s + 15 s" % (podspec.get(
                "terminationGracePeriodSeconds"), budget))
    if not os.path.isfile(root + pre[1]):
        err("preStop script %s is not in the pod's file tree" % pre[1])
        return errors
    r = run(["/bin/sh", root + pre[1]], env=env)
    if shim_calls(env["SHIM_DIR"])[1:]:
        err("preStop of a pod that stays ran %s" %
            shim_calls(env["SHIM_DIR"])[1:])
    if r.returncode != 0:
        err("preStop of a pod that stays failed: %s" % r.stdout)
    gone = ostart + (replicas if isinstance(replicas, int) else 3)
    started = start_pod(gone)
    if started is None:
        return errors
    root, conf, env = started
    with open(conf) as f:
        text = f.read()
    # ternctl gets a copy whose run_dir is empty: nothing answers it.
    os.makedirs(root + ".run", exist_ok=True)
    with open(env["SHIM_CONF"], "w") as f:
        f.write(re.sub(r"^run_dir\s*=.*$", "run_dir = " + root + ".run",
                       text, flags=re.M))
    r = run(["/bin/sh", root + pre[1]], env=env)
    calls = shim_calls(env["SHIM_DIR"])[1:]
    node = "tern@" + pod_host % gone
    if not calls:
        err("preStop of pod %d (scaled away) did not run ternctl: %s"
            % (gone, r.stdout.strip()))
        return errors
    argv = calls[0]
    if "leave" not in argv or "node=" + node not in argv:
        err("preStop ran ternctl %s, want cluster leave node=%s"
            % (" ".join(argv), node))
    if ctx.ternctl:
        rc, out = shim_result(env["SHIM_DIR"], 0)
        if rc == 2:
            err("ternctl refuses the preStop command (usage): %s" % out)
        elif "not running" not in out:
            err("ternctl %s: want 'clusterd is not running', got rc %s: %s"
                % (" ".join(argv), rc, out))
    return errors


def shim_calls(d):
    calls = []
    n = 0
    while os.path.exists(os.path.join(d, "call.%d" % n)):
        with open(os.path.join(d, "call.%d" % n)) as f:
            calls.append(f.read().split("\n")[:-1])
        n += 1
    return calls


def shim_result(d, n):
    try:
        with open(os.path.join(d, "rc.%d" % n)) as f:
            rc = int(f.read())
        with open(os.path.join(d, "out.%d" % n)) as f:
            return rc, f.read().strip()
    except (OSError, ValueError):
        return None, ""


SHIM = r"""#!/bin/sh
# ternctl stand-in for test 50: records its arguments; "run" stops there,
# other commands go to the real ternctl with -c FILE replaced by SHIM_CONF.
n=0
while [ -e "$SHIM_DIR/call.$n" ]; do n=$((n + 1)); done
for a in "$@"; do printf '%s\n' "$a"; done >"$SHIM_DIR/call.$n"
[ "$1" = run ] && exit 0
[ -n "$SHIM_REAL" ] || exit 0
prev=
first=1
for a in "$@"; do
	[ -n "$first" ] && set -- && first=
	[ "$prev" = -c ] && a=$SHIM_CONF
	set -- "$@" "$a"
	prev=$a
done
"$SHIM_REAL" "$@" >"$SHIM_DIR/out.$n" 2>&1
rc=$?
echo "$rc" >"$SHIM_DIR/rc.$n"
cat "$SHIM_DIR/out.$n"
exit "$rc"
"""


def edit_yaml(fname, fn):
    def mutate(mdir):
        path = os.path.join(mdir, fname)
        with open(path) as f:
            docs = list(yaml.safe_load_all(f))
        fn(docs[0])
        with open(path, "w") as f:
            yaml.safe_dump_all(docs, f)
    return mutate


def edit_text(fname, old, new):
    def mutate(mdir):
        path = os.path.join(mdir, fname)
        with open(path) as f:
            text = f.read()
        if old not in text:
            raise SystemExit("mutation: %r not in %s" % (old, fname))
        with open(path, "w") as f:
            f.write(text.replace(old, new, 1))
    return mutate


def ctr0(d):
    return d["spec"]["template"]["spec"]["containers"][0]


def set_probe_port(d):
    ctr0(d)["readinessProbe"]["httpGet"]["port"] = 9999


def rename_key(d):
    for v in d["spec"]["template"]["spec"]["volumes"]:
        for s in (v.get("projected") or {}).get("sources") or []:
            for it in (s.get("secret") or {}).get("items") or []:
                if it["key"] == "cluster.key":
                    it["key"] = "curve.key"


def headless_port(d):
    for p in d["spec"]["ports"]:
        if p["name"] == "cluster":
            p["targetPort"] = 44054


def drop_env(d):
    ctr0(d)["env"] = [e for e in ctr0(d)["env"]
                      if e["name"] != "POD_NAMESPACE"]


MUTATIONS = [
    ("pod label", edit_yaml("statefulset.yaml", lambda d: d["spec"][
        "template"]["metadata"]["labels"].update(
            {"app.kubernetes.io/name": "tern-x"})), "selector"),
    ("serviceName", edit_yaml("statefulset.yaml", lambda d: d["spec"]
                              .update(serviceName="tern-hl")),
     "serviceName"),
    ("probe port", edit_yaml("statefulset.yaml", set_probe_port),
     "readinessProbe: port"),
    ("headless port", edit_yaml("service-headless.yaml", headless_port),
     "targetPort"),
    ("not headless", edit_yaml("service-headless.yaml", lambda d: d[
        "spec"].update(publishNotReadyAddresses=False)),
     "publishNotReadyAddresses"),
    ("PDB selector", edit_yaml("pdb.yaml", lambda d: d["spec"][
        "selector"]["matchLabels"].update(
            {"app.kubernetes.io/name": "other"})), "PodDisruptionBudget"),
    ("unknown key", edit_text("tern.conf.in", "storage.sync = always",
                              "storage.sync = always\nstorage.bogus = 1"),
     "unknown key"),
    ("bad value", edit_text("tern.conf.in", "storage.sync = always",
                            "storage.sync = sometimes"), "config parser"),
    ("http port", edit_text("tern.conf.in", "0.0.0.0:8888",
                            "0.0.0.0:8889"), "listener.http.default port"),
    ("loopback only", edit_text("tern.conf.in", "listener.tcp.default = "
                                "0.0.0.0:", "listener.tcp.default = "
                                "127.0.0.1:"), "listens on 127.0.0.1"),
    ("placeholder", edit_text("tern.conf.in", "${POD_HOST}:44053",
                              "${POD_IP}:44053"), "entrypoint of pod"),
    ("key name", edit_yaml("statefulset.yaml", rename_key),
     "has no key curve.key"),
    ("downward API", edit_yaml("statefulset.yaml", drop_env),
     "POD_NAMESPACE is not set"),
    ("unlisted", edit_text("kustomization.yaml", "  - pdb.yaml\n", ""),
     "pdb.yaml is not listed"),
    ("leave syntax", edit_text("prestop.sh", 'node="$node"',
                               'node "$node"'), "(usage)"),
    ("scale count", edit_text("configmap-scale.yaml", 'replicas: "3"',
                              'replicas: "4"'), "tern-scale replicas"),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--srcdir", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--ternctl")
    ap.add_argument("--helper")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    ctx = Ctx(args)
    with open(os.path.join(ctx.work, "ternctl-shim"), "w") as f:
        f.write(SHIM)
    os.chmod(os.path.join(ctx.work, "ternctl-shim"), 0o755)
    mdir = os.path.join(ctx.srcdir, "deploy/kubernetes")
    failed = False

    errors = check(mdir, ctx, "real")
    for e in errors:
        print("error: " + e)
    failed |= bool(errors)
    print("manifests: %d errors" % len(errors))

    # kustomize itself, when kubectl is here: the generated ConfigMap's
    # hashed name must reach the StatefulSet.
    if ctx.kubectl:
        r = run([ctx.kubectl, "kustomize", mdir])
        if r.returncode != 0:
            print("error: kubectl kustomize: " + r.stdout)
            failed = True
        else:
            docs = [d for d in yaml.safe_load_all(r.stdout) if d]
            cms = {d["metadata"]["name"] for d in docs
                   if d["kind"] == "ConfigMap"}
            refs = re.findall(r"name: (tern-config\S*)",
                              yaml.safe_dump([d for d in docs
                                              if d["kind"] ==
                                              "StatefulSet"]))
            if not refs or not set(refs) <= cms:
                print("error: kustomize: StatefulSet refers to %s, "
                      "ConfigMaps are %s" % (refs, cms))
                failed = True
    else:
        ctx.notes.append("no kubectl: kustomize build not checked")

    # The docs name the Secrets the StatefulSet mounts.
    with open(os.path.join(ctx.srcdir, "docs/kubernetes.md")) as f:
        docs = f.read()
    for want in ["create secret generic %s" % s for s in ctx.secrets] + \
            ["ternctl keys create", "cluster leave", "tern-scale",
             "partition"]:
        if want not in docs:
            print("error: docs/kubernetes.md does not mention %r" % want)
            failed = True

    # Each mutation must be caught, by the check it is aimed at.
    for i, (what, mutate, expect) in enumerate(MUTATIONS):
        mut = os.path.join(ctx.work, "mut-%d" % i)
        shutil.rmtree(mut, ignore_errors=True)
        shutil.copytree(mdir, mut)
        mutate(mut)
        if expect == "(usage)" and not ctx.ternctl:
            continue
        if expect == "config parser" and not ctx.helper:
            continue
        errs = check(mut, ctx, "mut%d" % i)
        if not any(expect in e for e in errs):
            print("error: mutation %r not caught (want %r): %s"
                  % (what, expect, errs))
            failed = True
        else:
            print("mutation %r caught: %s" % (what, [e for e in errs
                                                    if expect in e][0]))
    for n in ctx.notes:
        print("note: " + n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
