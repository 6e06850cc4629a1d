#!/usr/bin/python3
"""A gNMI test target on Debian's python3-grpcio, sharing no code with the project's client.

It compiles its own copy of the gNMI messages (gnmi_target.proto) with python3-grpc-tools into a
descriptor set and builds the message classes from it, then serves Capabilities, Get and
Subscribe (STREAM with SAMPLE / ON_CHANGE / TARGET_DEFINED, POLL, ONCE) for one simulated
device with N interfaces and a few components.

Values are pure functions of the device number d, the interface number i (1..N) and the
milliseconds t since the target's epoch (printed at start), the same formulas as the project's
SNMP simulator, so tests can predict them:

  /interfaces/interface[name=Ethernet<i>]/state/counters/in-octets        2^60 + d*i + floor(1000*d*i*t/1000)
                                                         out-octets       2^60 + d*i + floor(500*d*i*t/1000)
                                                         in-unicast-pkts  d*i + floor(10*d*i*t/1000)
                                                         out-unicast-pkts d*i + floor(5*d*i*t/1000)
                                                         in-errors, out-errors, in-discards, out-discards
                                                                          floor(t/1000) on interfaces i % 7 == 0, else 0
  /interfaces/interface[name=Ethernet<i>]/state/oper-status               DOWN when i % 7 == 0, else UP
  /components/component[name=CPU0]/cpu/utilization/state/instant          12 + d % 10
  /components/component[name=Board]/state/temperature/instant             41.5 (Celsius)
  /components/component[name=Memory]/state/memory/{available,utilized}    6 GiB, 2 GiB

Knobs, read from the control file (JSON) before every sample and poll:
  {"drop": true}          every stream is aborted with UNAVAILABLE and new ones are refused
  {"delay_ms": 500}       each sample is sent this much later
  {"malformed": true}     every notification also carries an update without a value and one
                          whose JSON does not parse

Output: one line `listening <port> epoch_ms <ms>` on stdout once serving.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent import futures

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

HERE = os.path.dirname(os.path.abspath(__file__))


def load_messages():
    out = tempfile.mkdtemp(prefix="gnmi-target-")
    desc = os.path.join(out, "gnmi.pb")
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "-I", HERE, "--include_imports",
         "--descriptor_set_out=" + desc, "gnmi_target.proto"],
        check=True,
    )
    fds = descriptor_pb2.FileDescriptorSet()
    with open(desc, "rb") as f:
        fds.ParseFromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for fd in fds.file:
        pool.Add(fd)
    factory = message_factory.MessageFactory(pool)
    return lambda name: factory.GetPrototype(pool.FindMessageTypeByName("gnmi." + name))


M = load_messages()
Path, PathElem, TypedValue, Update, Notification = (
    M("Path"), M("PathElem"), M("TypedValue"), M("Update"), M("Notification"))
SubscribeRequest, SubscribeResponse = M("SubscribeRequest"), M("SubscribeResponse")
CapabilityRequest, CapabilityResponse = M("CapabilityRequest"), M("CapabilityResponse")
GetRequest, GetResponse = M("GetRequest"), M("GetResponse")

ENC_JSON, ENC_PROTO, ENC_JSON_IETF = 0, 2, 4
MODE_STREAM, MODE_ONCE, MODE_POLL = 0, 1, 2
SUB_ON_CHANGE = 1
COUNTERS = ["in-octets", "out-octets", "in-unicast-pkts", "out-unicast-pkts",
            "in-errors", "out-errors", "in-discards", "out-discards"]


class Device:
    def __init__(self, number, interfaces, epoch_ms):
        self.d = number
        self.n = interfaces
        self.epoch_ms = epoch_ms

    def counter(self, name, i, t):
        di = self.d * i
        if name == "in-octets":
            return 2 ** 60 + di + (1000 * di * t) // 1000
        if name == "out-octets":
            return 2 ** 60 + di + (500 * di * t) // 1000
        if name == "in-unicast-pkts":
            return di + (10 * di * t) // 1000
        if name == "out-unicast-pkts":
            return di + (5 * di * t) // 1000
        return t // 1000 if i % 7 == 0 else 0

    def leaves(self, now_ms):
        """Every (path elems, value) at now_ms, grouped as (prefix elems, {leaf: value})."""
        t = max(0, now_ms - self.epoch_ms)
        groups = []
        for i in range(1, self.n + 1):
            name = "Ethernet%d" % i
            iface = [("interfaces", {}), ("interface", {"name": name}), ("state", {})]
            groups.append((iface + [("counters", {})],
                           {c: self.counter(c, i, t) for c in COUNTERS}))
            groups.append((iface, {"oper-status": "DOWN" if i % 7 == 0 else "UP", "name": name}))
        comp = lambda n: [("components", {}), ("component", {"name": n})]
        groups.append((comp("CPU0") + [("cpu", {}), ("utilization", {}), ("state", {})],
                       {"instant": 12 + self.d % 10}))
        groups.append((comp("Board") + [("state", {}), ("temperature", {})], {"instant": 41.5}))
        groups.append((comp("Memory") + [("state", {}), ("memory", {})],
                       {"available": 6 * 2 ** 30, "utilized": 2 * 2 ** 30}))
        return groups


def make_path(elems):
    p = Path()
    for name, keys in elems:
        e = p.elem.add()
        e.name = name
        for k, v in keys.items():
            e.key[k] = v
    return p


def elems_of(path):
    return [(e.name, dict(e.key)) for e in path.elem]


def matches(prefix_elems, sub_elems):
    """True when the subscribed path covers (is a prefix of, or under) the group's prefix."""
    for (gn, gk), (sn, sk) in zip(prefix_elems, sub_elems):
        if gn != sn:
            return False
        for k, v in sk.items():
            if v != "*" and gk.get(k) != v:
                return False
    return True


def typed(value, encoding):
    tv = TypedValue()
    if encoding == ENC_PROTO:
        if isinstance(value, bool):
            tv.bool_val = value
        elif isinstance(value, int):
            tv.uint_val = value
        elif isinstance(value, float):
            tv.double_val = value
        else:
            tv.string_val = value
    elif encoding == ENC_JSON_IETF:
        # RFC 7951: 64-bit integers as strings.
        tv.json_ietf_val = json.dumps(str(value) if isinstance(value, int) and value > 2 ** 32 else value).encode()
    else:
        tv.json_val = json.dumps(value).encode()
    return tv


def notifications(device, sub_paths, encoding, now_ms, knobs, container):
    """The notifications of every group under a subscribed path, stamped now_ms."""
    out = []
    for elems, all_leaves in device.leaves(now_ms):
        leaves = {}
        for s in sub_paths:
            if len(s) <= len(elems) and matches(elems, s):
                leaves = all_leaves  # the path covers the whole group
                break
            if len(s) == len(elems) + 1 and matches(elems, s) and s[-1][0] in all_leaves:
                leaves[s[-1][0]] = all_leaves[s[-1][0]]  # one leaf of it
        if not leaves:
            continue
        n = Notification()
        n.timestamp = now_ms * 1_000_000
        n.prefix.CopyFrom(make_path(elems))
        if container and encoding in (ENC_JSON, ENC_JSON_IETF):
            # One update for the container, its leaves in one JSON object.
            body = {}
            for leaf, v in leaves.items():
                key = ("openconfig-interfaces:" + leaf) if encoding == ENC_JSON_IETF else leaf
                body[key] = str(v) if encoding == ENC_JSON_IETF and isinstance(v, int) and v > 2 ** 32 else v
            u = n.update.add()
            u.path.CopyFrom(Path())
            field = "json_ietf_val" if encoding == ENC_JSON_IETF else "json_val"
            setattr(u.val, field, json.dumps(body).encode())
        else:
            for leaf, v in leaves.items():
                u = n.update.add()
                u.path.CopyFrom(make_path([(leaf, {})]))
                u.val.CopyFrom(typed(v, encoding))
        if knobs.get("malformed"):
            bad = n.update.add()
            bad.path.CopyFrom(make_path([("broken", {})]))  # no value at all
            bad2 = n.update.add()
            bad2.path.CopyFrom(make_path([("broken-json", {})]))
            bad2.val.json_val = b"{not json"
        out.append(n)
    return out


class Target:
    def __init__(self, args):
        self.args = args
        self.epoch_ms = int(time.time() * 1000)
        self.device = Device(args.device, args.interfaces, self.epoch_ms)
        self.streams = 0
        self.lock = threading.Lock()

    def knobs(self):
        if not self.args.control:
            return {}
        try:
            with open(self.args.control) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def check_auth(self, context):
        if self.args.username is None:
            return
        md = dict(context.invocation_metadata())
        if md.get("username") != self.args.username or md.get("password") != self.args.password:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "bad username or password")

    def Capabilities(self, request, context):
        self.check_auth(context)
        r = CapabilityResponse()
        r.supported_encodings.extend([ENC_JSON, ENC_PROTO, ENC_JSON_IETF])
        r.gNMI_version = "0.8.0"
        m = r.supported_models.add()
        m.name, m.organization, m.version = "openconfig-interfaces", "OpenConfig working group", "3.0.0"
        return r

    def Get(self, request, context):
        self.check_auth(context)
        subs = [elems_of(p) for p in request.path]
        r = GetResponse()
        for n in notifications(self.device, subs, request.encoding, int(time.time() * 1000), {}, True):
            r.notification.add().CopyFrom(n)
        return r

    def Subscribe(self, request_iterator, context):
        self.check_auth(context)
        if self.knobs().get("drop"):
            context.abort(grpc.StatusCode.UNAVAILABLE, "stream dropped by the test")
        first = next(request_iterator)
        sl = first.subscribe
        prefix = elems_of(sl.prefix)
        subs = [prefix + elems_of(s.path) for s in sl.subscription]
        container = True
        encoding = sl.encoding

        def snapshot():
            return notifications(self.device, subs, encoding, int(time.time() * 1000), self.knobs(), container)

        def response(n=None):
            r = SubscribeResponse()
            if n is None:
                r.sync_response = True
            else:
                r.update.CopyFrom(n)
            return r

        if sl.mode == MODE_ONCE:
            for n in snapshot():
                yield response(n)
            yield response()
            return
        if sl.mode == MODE_POLL:
            for n in snapshot():
                yield response(n)
            yield response()
            for req in request_iterator:
                if req.WhichOneof("request") == "poll":
                    for n in snapshot():
                        yield response(n)
                    yield response()
            return
        # STREAM: the shortest sample interval of the list (10 s when none is given).
        intervals = [s.sample_interval for s in sl.subscription if s.sample_interval > 0]
        interval_s = (min(intervals) / 1e9) if intervals else 10.0
        on_change = all(s.mode == SUB_ON_CHANGE for s in sl.subscription)
        with self.lock:
            self.streams += 1
        try:
            if not sl.updates_only:
                for n in snapshot():
                    yield response(n)
            yield response()
            next_at = time.time() + interval_s
            while context.is_active():
                time.sleep(max(0.0, min(0.2, next_at - time.time())))
                knobs = self.knobs()
                if knobs.get("drop"):
                    context.abort(grpc.StatusCode.UNAVAILABLE, "stream dropped by the test")
                if time.time() < next_at:
                    continue
                next_at += interval_s
                if on_change:
                    continue  # nothing in this device changes but counters, which ON_CHANGE does not send
                delay = knobs.get("delay_ms", 0)
                if delay:
                    time.sleep(delay / 1000.0)
                for n in snapshot():
                    yield response(n)
        finally:
            with self.lock:
                self.streams -= 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--device", type=int, default=1)
    ap.add_argument("--interfaces", type=int, default=24)
    ap.add_argument("--control")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--client-ca", help="require client certificates signed by this CA")
    ap.add_argument("--username")
    ap.add_argument("--password")
    args = ap.parse_args()
    target = Target(args)
    ser = lambda m: m.SerializeToString()
    handler = grpc.method_handlers_generic_handler("gnmi.gNMI", {
        "Capabilities": grpc.unary_unary_rpc_method_handler(
            target.Capabilities, request_deserializer=CapabilityRequest.FromString, response_serializer=ser),
        "Get": grpc.unary_unary_rpc_method_handler(
            target.Get, request_deserializer=GetRequest.FromString, response_serializer=ser),
        "Subscribe": grpc.stream_stream_rpc_method_handler(
            target.Subscribe, request_deserializer=SubscribeRequest.FromString, response_serializer=ser),
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=64))
    server.add_generic_rpc_handlers((handler,))
    address = "127.0.0.1:%d" % args.port
    if args.tls_cert:
        with open(args.tls_key, "rb") as f:
            key = f.read()
        with open(args.tls_cert, "rb") as f:
            cert = f.read()
        client_ca = None
        if args.client_ca:
            with open(args.client_ca, "rb") as f:
                client_ca = f.read()
        creds = grpc.ssl_server_credentials([(key, cert)], root_certificates=client_ca,
                                            require_client_auth=client_ca is not None)
        port = server.add_secure_port(address, creds)
    else:
        port = server.add_insecure_port(address)
    server.start()
    print("listening %d epoch_ms %d" % (port, target.epoch_ms), flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
