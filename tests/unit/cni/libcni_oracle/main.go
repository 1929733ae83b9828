// The CNI layer against libcni, the runtime library containerd and CRI-O use (Debian's
// golang-github-appc-cni-dev, offline): libcni reads the results src/cni renders in each version
// (printed by cni_render), and drives the real vlcp-cni as a runtime does (VERSION, ADD, CHECK
// with libcni's cached prevResult, DEL twice, errors) against a fake vlcpd served here.
// Usage: libcni_oracle VLCP_CNI CNI_RENDER SCRATCH_DIR; prints ok:/FAIL: lines, exits 1 on a FAIL.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/types/create"
)

var failed int

func check(ok bool, format string, a ...interface{}) {
	if ok {
		fmt.Printf("ok: "+format+"\n", a...)
	} else {
		failed++
		fmt.Printf("FAIL: "+format+"\n", a...)
	}
}

func render(tool, version string) []byte {
	out, err := exec.Command(tool, version).Output()
	if err != nil {
		fmt.Printf("FAIL: %s %s: %v\n", tool, version, err)
		os.Exit(1)
	}
	return out
}

// The sample result cni_render prints, as libcni's newest type sees it.
func sameAsSample(r *current.Result) bool {
	return len(r.Interfaces) == 2 && r.Interfaces[0].Name == "vlcp1a2b3c4d" &&
		r.Interfaces[1].Name == "eth0" && r.Interfaces[1].Mac == "02:77:00:00:00:05" &&
		r.Interfaces[1].Sandbox == "/var/run/netns/pod1" && len(r.IPs) == 2 &&
		r.IPs[0].Address.String() == "10.1.0.5/24" && r.IPs[0].Gateway.String() == "10.1.0.1" &&
		r.IPs[0].Interface != nil && *r.IPs[0].Interface == 1 && r.IPs[1].Address.String() == "fd00::5/64" &&
		r.IPs[1].Gateway == nil && len(r.Routes) == 2 && r.Routes[0].Dst.String() == "0.0.0.0/0" &&
		r.Routes[1].Dst.String() == "10.9.0.0/16" && r.Routes[1].GW.String() == "10.1.0.254" &&
		strings.Join(r.DNS.Nameservers, ",") == "10.1.0.2,10.1.0.3" && r.DNS.Domain == "example.org" &&
		strings.Join(r.DNS.Search, ",") == "example.org,svc.example.org" && strings.Join(r.DNS.Options, ",") == "ndots:5"
}

func cniCode(err error) int {
	var e *types.Error
	if errors.As(err, &e) {
		return int(e.Code)
	}
	return -1
}

func main() {
	if len(os.Args) != 4 {
		fmt.Println("usage: libcni_oracle VLCP_CNI CNI_RENDER SCRATCH_DIR")
		os.Exit(2)
	}
	cniBin, tool, dir := os.Args[1], os.Args[2], os.Args[3]

	// 1. Our rendering, read by libcni in each version it speaks (1.1.0 is newer than libcni 1.1.2).
	for _, v := range []string{"0.3.0", "0.3.1", "0.4.0", "1.0.0"} {
		res, err := create.Create(v, render(tool, v))
		check(err == nil, "libcni reads the %s result src/cni renders (%v)", v, err)
		if err != nil {
			continue
		}
		check(res.Version() == v, "it is a %s result (%s)", v, res.Version())
		cur, err := current.NewResultFromResult(res)
		check(err == nil && sameAsSample(cur), "converted to 1.0.0 it holds every field (%v)", err)
	}

	// 2. libcni runs vlcp-cni against a fake vlcpd.
	sock := filepath.Join(dir, "vlcpd.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		fmt.Printf("FAIL: listen %s: %v\n", sock, err)
		os.Exit(1)
	}
	var mu sync.Mutex
	mode := "ok"
	var paths []string
	var headers []http.Header
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var conf struct {
			CNIVersion string          `json:"cniVersion"`
			PrevResult json.RawMessage `json:"prevResult"`
		}
		_ = json.Unmarshal(body, &conf)
		mu.Lock()
		m := mode
		paths = append(paths, r.URL.Path)
		headers = append(headers, r.Header.Clone())
		mu.Unlock()
		fail := func(status, code int, msg string) {
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"cniVersion":%q,"code":%d,"msg":%q,"details":"from the fake vlcpd"}`, conf.CNIVersion, code, msg)
		}
		switch {
		case r.URL.Path == "/add" && m == "inuse":
			fail(409, 101, "address in use")
		case r.URL.Path == "/add":
			w.Write(render(tool, conf.CNIVersion))
		case r.URL.Path == "/check" && m == "missing":
			fail(409, 103, "interface missing")
		case r.URL.Path == "/check" && len(conf.PrevResult) == 0:
			fail(400, 7, "no prevResult")
		case r.URL.Path == "/del" && m == "gone":
			fail(409, 3, "container unknown or does not exist")
		default:
			w.WriteHeader(200)
		}
	})}
	go srv.Serve(ln)
	setMode := func(m string) { mu.Lock(); mode = m; mu.Unlock() }

	cfg := libcni.NewCNIConfigWithCacheDir([]string{filepath.Dir(cniBin)}, filepath.Join(dir, "cache"), nil)
	ctx := context.Background()
	info, err := cfg.GetVersionInfo(ctx, filepath.Base(cniBin))
	check(err == nil, "libcni asks vlcp-cni VERSION (%v)", err)
	if err == nil {
		got := strings.Join(info.SupportedVersions(), ",")
		check(got == "0.3.0,0.3.1,0.4.0,1.0.0,1.1.0", "it supports 0.3.0-1.1.0 (%s)", got)
	}
	for i, v := range []string{"0.3.1", "0.4.0", "1.0.0"} {
		list, err := libcni.ConfListFromBytes([]byte(fmt.Sprintf(
			`{"cniVersion": %q, "name": "blue", "plugins": [{"type": %q, "socket": %q, "subnet": "blue-s"}]}`,
			v, filepath.Base(cniBin), sock)))
		if err != nil {
			check(false, "conflist %s: %v", v, err)
			continue
		}
		_, err = cfg.ValidateNetworkList(ctx, list)
		check(err == nil, "%s: libcni validates the conflist against vlcp-cni's VERSION (%v)", v, err)
		rt := &libcni.RuntimeConf{ContainerID: fmt.Sprintf("pod-%d", i), NetNS: "/var/run/netns/pod1", IfName: "eth0",
			Args: [][2]string{{"IgnoreUnknown", "1"}, {"K8S_POD_NAMESPACE", "default"}, {"K8S_POD_NAME", "web-0"}}}
		setMode("ok")
		res, err := cfg.AddNetworkList(ctx, list, rt)
		check(err == nil, "%s: ADD through libcni (%v)", v, err)
		if err == nil {
			check(res.Version() == v, "%s: the result is %s", v, res.Version())
			cur, err := current.NewResultFromResult(res)
			check(err == nil && sameAsSample(cur), "%s: libcni reads every field of it (%v)", v, err)
		}
		mu.Lock()
		h := http.Header{}
		if len(headers) > 0 {
			h = headers[len(headers)-1]
		}
		mu.Unlock()
		check(h.Get("X-CNI-ContainerID") == rt.ContainerID && h.Get("X-CNI-Netns") == "/var/run/netns/pod1" &&
			h.Get("X-CNI-IfName") == "eth0" && strings.Contains(h.Get("X-CNI-Args"), "K8S_POD_NAME=web-0"),
			"%s: vlcpd got the runtime's variables (%v)", v, h)
		if v != "0.3.1" {
			err = cfg.CheckNetworkList(ctx, list, rt)
			check(err == nil, "%s: CHECK with libcni's cached prevResult (%v)", v, err)
			setMode("missing")
			err = cfg.CheckNetworkList(ctx, list, rt)
			check(cniCode(err) == 103, "%s: CHECK of a removed interface is code 103 (%v)", v, err)
		}
		setMode("ok")
		check(cfg.DelNetworkList(ctx, list, rt) == nil, "%s: DEL", v)
		setMode("gone")
		err = cfg.DelNetworkList(ctx, list, rt)
		check(err == nil, "%s: DEL again, vlcpd says it is gone: success (%v)", v, err)
		setMode("inuse")
		_, err = cfg.AddNetworkList(ctx, list, rt)
		check(cniCode(err) == 101 && strings.Contains(err.Error(), "address in use"),
			"%s: vlcpd's error reaches libcni with its code (%v)", v, err)
		cfg.DelNetworkList(ctx, list, rt)
	}

	// 3. vlcpd gone: try again later.
	srv.Close()
	os.Remove(sock)
	list, _ := libcni.ConfListFromBytes([]byte(fmt.Sprintf(
		`{"cniVersion": "1.0.0", "name": "blue", "plugins": [{"type": %q, "socket": %q}]}`, filepath.Base(cniBin), sock)))
	rt := &libcni.RuntimeConf{ContainerID: "pod-x", NetNS: "/var/run/netns/pod1", IfName: "eth0"}
	_, err = cfg.AddNetworkList(ctx, list, rt)
	check(cniCode(err) == 11, "without vlcpd ADD is code 11 (%v)", err)
	check(cniCode(cfg.DelNetworkList(ctx, list, rt)) == 11, "and so is DEL")

	fmt.Printf("%d failed\n", failed)
	if failed > 0 {
		os.Exit(1)
	}
}
