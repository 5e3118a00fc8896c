// MSBuild inline task: marks one symbol-version requirement (e.g. GLIBCXX_3.4.32) of an ELF64
// little-endian shared library as weak, so ld.so loads it on a libstdc++ that lacks that version.
using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public class WeakenElfVersionNeed : Task
{
    [Required] public ITaskItem[] Files { get; set; }
    [Required] public string Version { get; set; }

    public override bool Execute()
    {
        foreach (var item in Files)
        {
            string path = item.ItemSpec;
            try
            {
                int n = Weaken(path, Version);
                if (n > 0) Log.LogMessage(MessageImportance.Normal, "weakened " + n + " reference(s) to " + Version + " in " + path);
            }
            catch (Exception e)
            {
                Log.LogError("could not patch " + path + ": " + e.Message);
                return false;
            }
        }
        return true;
    }

    static int Weaken(string path, string want)
    {
        byte[] d = File.ReadAllBytes(path);
        if (d.Length < 64 || d[0] != 0x7f || d[1] != (byte)'E' || d[2] != (byte)'L' || d[3] != (byte)'F' || d[4] != 2 || d[5] != 1)
            throw new InvalidDataException("not a little-endian ELF64 file");
        long shoff = BitConverter.ToInt64(d, 0x28);
        int shentsize = BitConverter.ToUInt16(d, 0x3A), shnum = BitConverter.ToUInt16(d, 0x3C);
        byte[] wantBytes = Encoding.ASCII.GetBytes(want);
        int changed = 0;
        for (int i = 0; i < shnum; i++)
        {
            long sh = shoff + (long)i * shentsize;
            uint type = BitConverter.ToUInt32(d, (int)sh + 4);
            if (type != 0x6ffffffe) continue; // SHT_GNU_verneed
            long off = BitConverter.ToInt64(d, (int)sh + 0x18);
            uint link = BitConverter.ToUInt32(d, (int)sh + 0x28);
            uint info = BitConverter.ToUInt32(d, (int)sh + 0x2C);
            long strOff = BitConverter.ToInt64(d, (int)(shoff + (long)link * shentsize) + 0x18);
            long p = off;
            for (uint v = 0; v < info; v++)
            {
                int cnt = BitConverter.ToUInt16(d, (int)p + 2);
                uint aux = BitConverter.ToUInt32(d, (int)p + 8);
                uint next = BitConverter.ToUInt32(d, (int)p + 12);
                long a = p + aux;
                for (int c = 0; c < cnt; c++)
                {
                    ushort flags = BitConverter.ToUInt16(d, (int)a + 4);
                    uint name = BitConverter.ToUInt32(d, (int)a + 8);
                    uint anext = BitConverter.ToUInt32(d, (int)a + 12);
                    if (NameEquals(d, strOff + name, wantBytes) && (flags & 0x2) == 0)
                    {
                        ushort nf = (ushort)(flags | 0x2);
                        d[a + 4] = (byte)(nf & 0xff); d[a + 5] = (byte)(nf >> 8);
                        changed++;
                    }
                    a += anext;
                }
                p += next;
            }
        }
        if (changed > 0) File.WriteAllBytes(path, d);
        return changed;
    }

    static bool NameEquals(byte[] d, long at, byte[] want)
    {
        for (int k = 0; k < want.Length; k++) if (d[at + k] != want[k]) return false;
        return d[at + want.Length] == 0;
    }
}
