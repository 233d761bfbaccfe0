/** The product version; the node reports it as its kubelet version (`v<k8s>-eci-<version>`). */
export const version = "0.1.0"
