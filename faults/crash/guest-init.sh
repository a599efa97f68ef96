#!/bin/sh
# /init of the crash-vm guest (busybox sh). scripts/crash-vm packs it into
# the initramfs with busybox, the virtio modules, the crash writers and the
# verifier. The action comes from the kernel command line:
#   mmf.action=probe                              print MMF-PROBE-OK
#   mmf.action=write mmf.writer=NAME mmf.args=A/B/C
#       mount the disk with serial cw on /mnt, run /bin/NAME /mnt A B C
#       (the writer's options joined by '/': their values contain commas)
#   mmf.action=verify mmf.per=M mmf.disks=SERIAL:ACKED:CREATED:DELETED:DELETING,...
#       for each disk: mount (replays the journal), run the verifier, umount;
#       prints `MMF-DISK SERIAL CRASH-VERIFY ...` per disk
# then powers off. Every line the host reads starts with MMF-, ACK, CREATE,
# DELETE, KILLARM, START, DONE or ERR.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev \
         virtio_pci virtio_blk; do
  insmod /lib/modules/$m.ko 2>/dev/null
done

arg() {
  for w in $(cat /proc/cmdline); do
    case "$w" in "$1="*) echo "${w#*=}" ;; esac
  done
}

# dev_of SERIAL: the vdX whose virtio serial is SERIAL (waits for it).
dev_of() {
  i=0
  while [ $i -lt 200 ]; do
    for s in /sys/block/vd*/serial; do
      [ -f "$s" ] || continue
      if [ "$(cat "$s")" = "$1" ]; then
        d=${s%/serial}; echo "${d##*/}"; return 0
      fi
    done
    sleep 0.05; i=$((i + 1))
  done
  return 1
}

off() { sync; echo o > /proc/sysrq-trigger; sleep 5; }

case "$(arg mmf.action)" in
probe)
  echo MMF-PROBE-OK ;;
write)
  dev=$(dev_of cw) || { echo "MMF-ERR no disk"; off; }
  mount -t ext4 /dev/$dev /mnt || { echo "MMF-ERR mount"; off; }
  echo MMF-WRITER-START
  /bin/$(arg mmf.writer) /mnt $(arg mmf.args | tr / ' ')
  echo "MMF-WRITER-EXIT $?"
  umount /mnt ;;
verify)
  per=$(arg mmf.per)
  for spec in $(arg mmf.disks | tr , ' '); do
    set -- $(echo "$spec" | tr : ' ')
    if ! dev=$(dev_of "$1"); then
      echo "MMF-DISK $1 CRASH-VERIFY status=no-disk"; continue
    fi
    if ! mount -t ext4 /dev/$dev /mnt 2>/dev/null; then
      echo "MMF-DISK $1 CRASH-VERIFY status=mount-failed"; continue
    fi
    out=$(/bin/mmf_crash_verify /mnt --acked "$2" --created "$3" \
          --deleted "$4" --deleting "$5" --per-file "$per" 2>&1)
    echo "MMF-DISK $1 $out"
    umount /mnt || echo "MMF-DISK $1 umount-failed"
  done
  echo MMF-VERIFY-DONE ;;
*)
  echo "MMF-ERR unknown action" ;;
esac
off
