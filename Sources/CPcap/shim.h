#ifndef RSTDOCTOR_CPCAP_SHIM_H
#define RSTDOCTOR_CPCAP_SHIM_H
#include <pcap/pcap.h>
#endif
