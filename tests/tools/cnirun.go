// cnirun: one CNI command through libcni, the runtime library containerd and CRI-O use (Debian's
// golang-github-appc-cni-dev, built offline by containers_cni.sh), with libcni's result cache:
// CHECK and DEL get the cached prevResult as a runtime's would.
// Usage: cnirun ADD|CHECK|DEL CONFLIST CNI_BIN_DIR CACHE_DIR CONTAINERID NETNS IFNAME
// ADD prints the result as JSON; an error is printed and exits 1.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/containernetworking/cni/libcni"
)

func main() {
	if len(os.Args) != 8 {
		fmt.Fprintln(os.Stderr, "usage: cnirun ADD|CHECK|DEL CONFLIST CNI_BIN_DIR CACHE_DIR CONTAINERID NETNS IFNAME")
		os.Exit(2)
	}
	cmd, file, bin, cache := os.Args[1], os.Args[2], os.Args[3], os.Args[4]
	list, err := libcni.ConfListFromFile(file)
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	cfg := libcni.NewCNIConfigWithCacheDir([]string{bin}, cache, nil)
	rt := &libcni.RuntimeConf{ContainerID: os.Args[5], NetNS: os.Args[6], IfName: os.Args[7]}
	ctx := context.Background()
	switch cmd {
	case "ADD":
		res, err := cfg.AddNetworkList(ctx, list, rt)
		if err == nil {
			out, _ := json.Marshal(res)
			fmt.Println(string(out))
		}
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
	case "CHECK":
		err = cfg.CheckNetworkList(ctx, list, rt)
	case "DEL":
		err = cfg.DelNetworkList(ctx, list, rt)
	default:
		err = fmt.Errorf("unknown command %q", cmd)
	}
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
}
