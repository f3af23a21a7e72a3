// Linux-only stand-in for the SDK's mdns module: a computer already has a name, and multicast on
// port 5353 would collide with the machine's own responder. Claims nothing, announces nothing.
export default class MDNS {
	constructor(dictionary, callback) {
		void dictionary;
		void callback;
	}
	add(service) {
		void service;
	}
	remove(service) {
		void service;
	}
	close() {}
}
