//! IPVS (LVS) over generic netlink: the kernel table that virtual servers program.
