# The os-ken peer for perf/run_packet_in.sh: os-ken's own simple_switch_13 learning switch
# (Debian's python3-os-ken, run with /usr/bin/python3), the same work ovs-testcontroller's
# learning switch does per PACKET_IN: learn the source MAC on in_port, and for a destination it
# knows, one FLOW_MOD (in_port, eth_src, eth_dst -> output) and, the frame being unbuffered
# (buffer_id = NO_BUFFER), one PACKET_OUT carrying it. An unknown destination gets a flooding
# PACKET_OUT alone (ofp_swarm counts those apart). No table-miss flow at the handshake: the
# emulated switch has no tables.
# Run: osken-manager perf/osken_packet_in.py --ofp-tcp-listen-port N
from os_ken.base import app_manager
from os_ken.controller import ofp_event
from os_ken.controller.handler import MAIN_DISPATCHER, set_ev_cls
from os_ken.lib.packet import ethernet, packet
from os_ken.ofproto import ofproto_v1_3


class PacketInSwitch(app_manager.OSKenApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.mac_to_port = {}

    @set_ev_cls(ofp_event.EventOFPPacketIn, MAIN_DISPATCHER)
    def packet_in(self, ev):
        msg = ev.msg
        dp = msg.datapath
        ofp = dp.ofproto
        parser = dp.ofproto_parser
        in_port = msg.match['in_port']
        eth = packet.Packet(msg.data).get_protocol(ethernet.ethernet)
        if eth is None:
            return
        table = self.mac_to_port.setdefault(dp.id, {})
        table[eth.src] = in_port
        out_port = table.get(eth.dst, ofp.OFPP_FLOOD)
        actions = [parser.OFPActionOutput(out_port)]
        if out_port != ofp.OFPP_FLOOD:
            match = parser.OFPMatch(in_port=in_port, eth_dst=eth.dst, eth_src=eth.src)
            inst = [parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, actions)]
            if msg.buffer_id != ofp.OFP_NO_BUFFER:
                dp.send_msg(parser.OFPFlowMod(datapath=dp, buffer_id=msg.buffer_id, priority=1,
                                              match=match, instructions=inst))
                return
            dp.send_msg(parser.OFPFlowMod(datapath=dp, priority=1, match=match, instructions=inst))
        data = msg.data if msg.buffer_id == ofp.OFP_NO_BUFFER else None
        dp.send_msg(parser.OFPPacketOut(datapath=dp, buffer_id=msg.buffer_id, in_port=in_port,
                                        actions=actions, data=data))
