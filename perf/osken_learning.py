# The peer for perf/run_l2.sh: os-ken (Debian's python3-os-ken, run with /usr/bin/python3)
# driving the same controller learning vlcpd's workers do — on each PACKET_IN from a source
# MAC in network REG4 on port P, two FLOW_MODs: in l2input (table 1) stop sending that source
# up (hard timeout 150 s, goto 2), in l2learning (table 5) send that network's frames for the
# MAC to P (hard timeout 300 s). Run: osken-manager perf/osken_learning.py --ofp-tcp-listen-port N
from os_ken.base import app_manager
from os_ken.controller import ofp_event
from os_ken.controller.handler import MAIN_DISPATCHER, set_ev_cls
from os_ken.lib.packet import ethernet, packet
from os_ken.ofproto import ofproto_v1_3

COOKIE = (1 << 63) | (2 << 48)


class LearningSwitch(app_manager.OSKenApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]

    @set_ev_cls(ofp_event.EventOFPPacketIn, MAIN_DISPATCHER)
    def packet_in(self, ev):
        msg = ev.msg
        dp = msg.datapath
        parser = dp.ofproto_parser
        in_port = msg.match['in_port']
        net = msg.match.get('reg4')
        eth = packet.Packet(msg.data).get_protocol(ethernet.ethernet)
        if net is None or eth is None or int(eth.src.split(':')[0], 16) & 1:
            return
        suppress = parser.OFPFlowMod(
            dp, cookie=COOKIE, table_id=1, priority=0x8000, hard_timeout=150,
            match=parser.OFPMatch(in_port=in_port, reg4=net, eth_src=eth.src),
            instructions=[parser.OFPInstructionGotoTable(2)])
        forward = parser.OFPFlowMod(
            dp, cookie=COOKIE, table_id=5, priority=0x8000, hard_timeout=300,
            match=parser.OFPMatch(reg5=net, eth_dst=eth.src),
            instructions=[parser.OFPInstructionActions(
                dp.ofproto.OFPIT_APPLY_ACTIONS, [parser.OFPActionSetField(reg6=in_port)])])
        dp.send_msg(suppress)
        dp.send_msg(forward)
