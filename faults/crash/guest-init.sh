#!/bin/sh
# /init of the crash-vm guest (busybox sh). scripts/crash-vm packs it into
# the initramfs with busybox, the kernel modules, the crash writers and the
# verifier. The action and the filesystem come from the kernel command line
# (scripts/mmfresults/crashvm.py writes it from its table FILESYSTEMS):
#   mmf.modules=M1,M2,...  modules to load, in order (virtio, then the fs's)
#   mmf.fs=NAME  the row of the table (printed in MMF-FS)
#   mmf.fstype=TYPE mmf.mountopts=OPTS   how to mount the disks (mount -t -o)
#   mmf.action=probe                              print MMF-PROBE-OK
#   mmf.action=write mmf.writer=NAME mmf.args=A/B/C
#       mount the disk with serial cw on /mnt, run /bin/NAME /mnt A B C
#       (the writer's options joined by '/': their values contain commas)
#   mmf.action=verify mmf.per=M mmf.disks=SERIAL:ACKED:CREATED:DELETED:DELETING,...
#       for each disk: mount (replays the journal), run the verifier, umount;
#       prints `MMF-DISK SERIAL CRASH-VERIFY ...` per disk
# then powers off. First of all it prints `MMF-NET IF...`, the network
# interfaces the kernel sees (the host refuses any but lo: the guest has no
# network device). Every line the host reads starts with MMF-, ACK, CREATE,
# DELETE, KILLARM, START, DONE or ERR.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev

arg() {
  for w in $(cat /proc/cmdline); do
    case "$w" in "$1="*) echo "${w#*=}" ;; esac
  done
}

for m in $(arg mmf.modules | tr , ' '); do
  insmod /lib/modules/$m.ko 2>/dev/null || echo "MMF-ERR insmod $m"
done
echo "MMF-NET $(ls /sys/class/net 2>/dev/null | tr '\n' ' ')"
fs=$(arg mmf.fstype)
opts=$(arg mmf.mountopts)
echo "MMF-FS $(arg mmf.fs) $fs $opts"

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
  mount -t "$fs" -o "$opts" /dev/$dev /mnt || { echo "MMF-ERR mount"; off; }
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
    if ! mount -t "$fs" -o "$opts" /dev/$dev /mnt 2>/dev/null; then
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
