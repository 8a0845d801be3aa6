//! One virtual server's view of its real servers, sans I/O: which destinations should be in the
//! IPVS table and with what weight, given each real server's health. Rules from keepalived 2.2.7
//! (ipwrapper.c `perform_svr_state`, `update_quorum_state`):
//!
//! * A real server is alive when all its checkers are up. Dead: removed from IPVS, or kept at
//!   weight 0 with `inhibit_on_failure` (existing connections drain). Alive again: added back,
//!   or its weight restored.
//! * Quorum: the weight sum of alive servers. Gained when sum >= quorum + hysteresis, lost when
//!   sum < quorum - hysteresis or sum is 0. At start it is up only at the gain threshold
//!   (sum >= quorum + hysteresis): 2.2.7 logs "Starting with quorum down" otherwise.
//! * With a sorry server, losing quorum replaces the real servers by the sorry server, and
//!   gaining it swaps back. `sorry_server_inhibit` keeps the sorry server in the table at
//!   weight 0 while unused. At start with no live server, the sorry server goes in at once.
//!
//! Every change is returned as a [`Change`]; the caller turns them into IPVS operations (and
//! notify scripts), so one health transition is one batch applied at once.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Real(usize),
    Sorry,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Put the destination in the table with this weight.
    Add(Target, u32),
    /// Change the weight of a destination already in the table.
    Weight(Target, u32),
    Remove(Target),
    /// Real server health changed (notify_up / notify_down, FIFO `RS ... UP|DOWN`).
    RsUp(usize),
    RsDown(usize),
    /// A dynamic checker changed a real server's weight (logged "Changing weight from ...").
    /// Reported for a live server and for an inhibited dead one; 2.2.7 says nothing for a
    /// dead server out of the table.
    RsWeight {
        rs: usize,
        from: u32,
        to: u32,
        /// The server is alive ("active service"), else inhibited and dead ("inactive").
        active: bool,
    },
    /// Quorum changed (quorum_up / quorum_down, FIFO `VS ... UP|DOWN`).
    QuorumUp {
        sum: u64,
    },
    QuorumDown {
        sum: u64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealServer {
    pub weight: u32,
    pub inhibit_on_failure: bool,
    pub alive: bool,
    /// In the IPVS table (possibly at weight 0 when inhibited).
    in_table: bool,
}

impl RealServer {
    /// `alive` is its state before any check result (alpha: false).
    pub fn new(weight: u32, inhibit_on_failure: bool, alive: bool) -> Self {
        RealServer { weight, inhibit_on_failure, alive, in_table: false }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SorryServer {
    pub weight: u32,
    pub inhibit: bool,
}

#[derive(Debug, Clone)]
pub struct VirtualServer {
    pub servers: Vec<RealServer>,
    pub quorum: u64,
    pub hysteresis: u64,
    pub sorry: Option<SorryServer>,
    quorum_up: bool,
    sorry_in_table: bool,
}

impl VirtualServer {
    pub fn new(servers: Vec<RealServer>, quorum: u64, hysteresis: u64, sorry: Option<SorryServer>) -> Self {
        VirtualServer { servers, quorum, hysteresis, sorry, quorum_up: true, sorry_in_table: false }
    }

    pub fn quorum_up(&self) -> bool {
        self.quorum_up
    }

    pub fn alive_weight(&self) -> u64 {
        self.servers.iter().filter(|r| r.alive).map(|r| u64::from(r.weight)).sum()
    }

    /// The table at start: live servers (and inhibited dead ones at weight 0), or the sorry
    /// server when quorum is not met ("Starting with quorum down").
    pub fn start(&mut self) -> Vec<Change> {
        let mut out = Vec::new();
        let sum = self.alive_weight();
        self.quorum_up = sum >= self.quorum + self.hysteresis && sum > 0;
        if let Some(s) = self.sorry.clone()
            && (!self.quorum_up || s.inhibit)
        {
            let w = if self.quorum_up { 0 } else { s.weight };
            out.push(Change::Add(Target::Sorry, w));
            self.sorry_in_table = true;
        }
        let use_real = self.quorum_up || self.sorry.is_none();
        for i in 0..self.servers.len() {
            let r = &self.servers[i];
            if use_real && r.alive {
                out.push(Change::Add(Target::Real(i), r.weight));
                self.servers[i].in_table = true;
            } else if r.inhibit_on_failure {
                out.push(Change::Add(Target::Real(i), 0));
                self.servers[i].in_table = true;
            }
        }
        out
    }

    /// Real server `i` became alive or dead.
    pub fn set_alive(&mut self, i: usize, alive: bool) -> Vec<Change> {
        let mut out = Vec::new();
        let Some(r) = self.servers.get_mut(i) else { return out };
        if r.alive == alive {
            return out;
        }
        r.alive = alive;
        out.push(if alive { Change::RsUp(i) } else { Change::RsDown(i) });
        if self.quorum_up || self.sorry.is_none() {
            self.place(i, alive, &mut out);
        }
        self.update_quorum(&mut out);
        out
    }

    /// A dynamic checker (misc_dynamic, FILE_CHECK) gave server `i` a new effective weight.
    /// A serving server's destination is edited at once; a dead one keeps the weight for when
    /// it comes back (an inhibited one stays at 0). The weight counts towards quorum while the
    /// server is alive, so quorum may be gained or lost here too.
    pub fn set_weight(&mut self, i: usize, weight: u32) -> Vec<Change> {
        let mut out = Vec::new();
        let serving = self.quorum_up || self.sorry.is_none();
        let Some(r) = self.servers.get_mut(i) else { return out };
        if r.weight == weight {
            return out;
        }
        if r.alive || r.inhibit_on_failure {
            out.push(Change::RsWeight { rs: i, from: r.weight, to: weight, active: r.alive });
        }
        r.weight = weight;
        if r.alive && r.in_table && serving {
            out.push(Change::Weight(Target::Real(i), weight));
        }
        if r.alive {
            self.update_quorum(&mut out);
        }
        out
    }

    /// Put server `i` in or out of service according to `serve`.
    fn place(&mut self, i: usize, serve: bool, out: &mut Vec<Change>) {
        let r = &mut self.servers[i];
        let t = Target::Real(i);
        match (serve, r.in_table, r.inhibit_on_failure) {
            (true, true, _) => out.push(Change::Weight(t, r.weight)),
            (true, false, _) => {
                out.push(Change::Add(t, r.weight));
                r.in_table = true;
            }
            (false, true, true) => out.push(Change::Weight(t, 0)),
            (false, true, false) => {
                out.push(Change::Remove(t));
                r.in_table = false;
            }
            (false, false, _) => {}
        }
    }

    fn update_quorum(&mut self, out: &mut Vec<Change>) {
        let sum = self.alive_weight();
        if !self.quorum_up && sum >= self.quorum + self.hysteresis && sum > 0 {
            self.quorum_up = true;
            out.push(Change::QuorumUp { sum });
            if let Some(s) = self.sorry.clone() {
                if self.sorry_in_table {
                    if s.inhibit {
                        out.push(Change::Weight(Target::Sorry, 0));
                    } else {
                        out.push(Change::Remove(Target::Sorry));
                        self.sorry_in_table = false;
                    }
                }
                for i in 0..self.servers.len() {
                    if self.servers[i].alive {
                        self.place(i, true, out);
                    }
                }
            }
        } else if self.quorum_up && (sum < self.quorum.saturating_sub(self.hysteresis) || sum == 0) {
            self.quorum_up = false;
            out.push(Change::QuorumDown { sum });
            if let Some(s) = self.sorry.clone() {
                for i in 0..self.servers.len() {
                    if self.servers[i].alive {
                        self.place(i, false, out);
                    }
                }
                if self.sorry_in_table {
                    out.push(Change::Weight(Target::Sorry, s.weight));
                } else {
                    out.push(Change::Add(Target::Sorry, s.weight));
                    self.sorry_in_table = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Change::*;
    use Target::*;

    fn three(inhibit: bool) -> VirtualServer {
        VirtualServer::new((0..3).map(|_| RealServer::new(1, inhibit, true)).collect(), 1, 0, None)
    }

    #[test]
    fn start_adds_live_servers() {
        let mut vs = three(false);
        assert_eq!(vs.start(), [Add(Real(0), 1), Add(Real(1), 1), Add(Real(2), 1)]);
        let mut vs =
            VirtualServer::new(vec![RealServer::new(3, false, false), RealServer::new(2, true, false)], 1, 0, None);
        assert_eq!(vs.start(), [Add(Real(1), 0)], "alpha: dead unless inhibited, then weight 0");
    }

    #[test]
    fn dead_server_removed_and_added_back() {
        let mut vs = three(false);
        vs.start();
        assert_eq!(vs.set_alive(1, false), [RsDown(1), Remove(Real(1))]);
        assert_eq!(vs.set_alive(1, false), [], "no change, no action");
        assert_eq!(vs.set_alive(1, true), [RsUp(1), Add(Real(1), 1)]);
    }

    #[test]
    fn inhibit_on_failure_sets_weight_zero() {
        let mut vs = three(true);
        vs.start();
        assert_eq!(vs.set_alive(2, false), [RsDown(2), Weight(Real(2), 0)]);
        assert_eq!(vs.set_alive(2, true), [RsUp(2), Weight(Real(2), 1)]);
    }

    #[test]
    fn quorum_with_hysteresis_and_sorry_server() {
        let servers = (0..4).map(|_| RealServer::new(1, false, true)).collect();
        let mut vs = VirtualServer::new(servers, 3, 1, Some(SorryServer { weight: 1, inhibit: false }));
        assert_eq!(vs.start().len(), 4);
        // 3 alive: 3 >= q - h = 2, still up.
        assert_eq!(vs.set_alive(0, false), [RsDown(0), Remove(Real(0))]);
        assert_eq!(vs.set_alive(1, false), [RsDown(1), Remove(Real(1))]);
        // 1 alive < 2: lost; live servers make way for the sorry server.
        assert_eq!(
            vs.set_alive(2, false),
            [RsDown(2), Remove(Real(2)), QuorumDown { sum: 1 }, Remove(Real(3)), Add(Sorry, 1)]
        );
        assert!(!vs.quorum_up());
        // 3 alive < q + h = 4: not yet regained; nothing enters the table.
        assert_eq!(vs.set_alive(0, true), [RsUp(0)]);
        assert_eq!(vs.set_alive(1, true), [RsUp(1)]);
        assert_eq!(
            vs.set_alive(2, true),
            [
                RsUp(2),
                QuorumUp { sum: 4 },
                Remove(Sorry),
                Add(Real(0), 1),
                Add(Real(1), 1),
                Add(Real(2), 1),
                Add(Real(3), 1)
            ]
        );
    }

    #[test]
    fn sorry_server_inhibit_stays_at_weight_zero() {
        let servers = vec![RealServer::new(1, false, true)];
        let mut vs = VirtualServer::new(servers, 1, 0, Some(SorryServer { weight: 5, inhibit: true }));
        assert_eq!(vs.start(), [Add(Sorry, 0), Add(Real(0), 1)]);
        assert_eq!(vs.set_alive(0, false), [RsDown(0), Remove(Real(0)), QuorumDown { sum: 0 }, Weight(Sorry, 5)]);
        assert_eq!(vs.set_alive(0, true), [RsUp(0), QuorumUp { sum: 1 }, Weight(Sorry, 0), Add(Real(0), 1)]);
    }

    #[test]
    fn starting_with_quorum_down_uses_sorry_server() {
        let servers = vec![RealServer::new(1, false, false)];
        let mut vs = VirtualServer::new(servers, 1, 0, Some(SorryServer { weight: 1, inhibit: false }));
        assert_eq!(vs.start(), [Add(Sorry, 1)]);
        assert!(!vs.quorum_up());
    }

    #[test]
    fn start_needs_quorum_plus_hysteresis() {
        // Measured on 2.2.7: quorum 2 (reduced from 5), hysteresis 1, one live server of
        // weight 2: "Starting with quorum down", the sorry server replaces the real server.
        let servers = vec![RealServer::new(2, false, true)];
        let mut vs = VirtualServer::new(servers, 2, 1, Some(SorryServer { weight: 1, inhibit: false }));
        assert_eq!(vs.start(), [Add(Sorry, 1)]);
        assert!(!vs.quorum_up());
        // Reaching quorum + hysteresis later gains it as usual.
        let servers = vec![RealServer::new(2, false, true), RealServer::new(1, false, false)];
        let mut vs = VirtualServer::new(servers, 2, 1, Some(SorryServer { weight: 1, inhibit: false }));
        vs.start();
        assert_eq!(
            vs.set_alive(1, true),
            [RsUp(1), QuorumUp { sum: 3 }, Remove(Sorry), Add(Real(0), 2), Add(Real(1), 1)]
        );
        // Without a sorry server the real servers go in regardless.
        let mut vs = VirtualServer::new(vec![RealServer::new(2, false, true)], 2, 1, None);
        assert_eq!(vs.start(), [Add(Real(0), 2)]);
        assert!(!vs.quorum_up());
    }

    #[test]
    fn quorum_notifications_without_sorry_server() {
        let mut vs = three(false);
        vs.start();
        vs.set_alive(0, false);
        vs.set_alive(1, false);
        assert_eq!(vs.set_alive(2, false), [RsDown(2), Remove(Real(2)), QuorumDown { sum: 0 }]);
        assert_eq!(vs.set_alive(2, true), [RsUp(2), Add(Real(2), 1), QuorumUp { sum: 1 }]);
    }

    #[test]
    fn unknown_index_is_ignored() {
        let mut vs = three(false);
        assert_eq!(vs.set_alive(7, false), []);
        assert_eq!(vs.set_weight(7, 4), []);
    }

    fn weighted(weights: &[(u32, bool)], quorum: u64) -> VirtualServer {
        let servers = weights.iter().map(|&(w, inhibit)| RealServer::new(w, inhibit, true)).collect();
        VirtualServer::new(servers, quorum, 0, None)
    }

    /// The VM run of 2.2.7 (quorum 6; weights 5, 1 inhibited, 2 inhibited): a live server's new
    /// weight is edited in and moves quorum; nothing changes for an unchanged weight.
    #[test]
    fn weight_of_a_live_server_is_edited_and_counts_for_quorum() {
        let mut vs = weighted(&[(5, false), (1, true), (2, true)], 6);
        vs.start();
        assert_eq!(vs.set_weight(0, 8), [RsWeight { rs: 0, from: 5, to: 8, active: true }, Weight(Real(0), 8)]);
        assert_eq!(vs.set_weight(0, 8), []);
        assert_eq!(
            vs.set_weight(0, 1),
            [RsWeight { rs: 0, from: 8, to: 1, active: true }, Weight(Real(0), 1), QuorumDown { sum: 4 }]
        );
        assert_eq!(
            vs.set_weight(0, 10),
            [RsWeight { rs: 0, from: 1, to: 10, active: true }, Weight(Real(0), 10), QuorumUp { sum: 13 }]
        );
    }

    /// An inhibited dead server stays at weight 0 but the change is reported ("inactive"), and
    /// it comes back at the new weight; a dead server out of the table changes silently.
    #[test]
    fn weight_of_a_dead_server_waits_for_it() {
        let mut vs = weighted(&[(5, false), (1, true)], 1);
        vs.start();
        assert_eq!(vs.set_alive(1, false), [RsDown(1), Weight(Real(1), 0)]);
        assert_eq!(vs.set_weight(1, 5), [RsWeight { rs: 1, from: 1, to: 5, active: false }]);
        assert_eq!(vs.set_alive(1, true), [RsUp(1), Weight(Real(1), 5)]);
        assert_eq!(vs.set_alive(0, false), [RsDown(0), Remove(Real(0))]);
        assert_eq!(vs.set_weight(0, 10), []);
        assert_eq!(vs.set_alive(0, true), [RsUp(0), Add(Real(0), 10)]);
    }

    /// With quorum lost and a sorry server, live servers are out of the table: a weight change
    /// only counts towards quorum, and regaining it puts them back at their new weight.
    #[test]
    fn weight_change_can_regain_quorum_with_a_sorry_server() {
        let servers = vec![RealServer::new(1, false, true)];
        let mut vs = VirtualServer::new(servers, 3, 0, Some(SorryServer { weight: 1, inhibit: false }));
        assert_eq!(vs.start(), [Add(Sorry, 1)]);
        assert_eq!(
            vs.set_weight(0, 4),
            [RsWeight { rs: 0, from: 1, to: 4, active: true }, QuorumUp { sum: 4 }, Remove(Sorry), Add(Real(0), 4)]
        );
        assert_eq!(
            vs.set_weight(0, 0),
            [
                RsWeight { rs: 0, from: 4, to: 0, active: true },
                Weight(Real(0), 0),
                QuorumDown { sum: 0 },
                Remove(Real(0)),
                Add(Sorry, 1)
            ]
        );
    }
}
